"""The Genesys Cloud Open Messaging handover: joins the flow engine to the Genesys client."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

from ... import texts
from ...clock import SYSTEM_CLOCK, Clock
from ...copilot import CopilotView, LinkMaker
from ...flags import FeatureFlags
from ...flows.engine import Endpoint, NodeApi, Turn
from ...flows.events import handover_event, output_event
from ...flows.session import Session, SessionKey
from ...genesys import GenesysError
from ...genesys.messages import inbound_typing
from ...handover import transitions
from ...metrics import Metrics
from ...refusals import BadInput
from ...sessions import AfterEnd, SessionKept, Sessions
from ..genesys_flags import om_disabled_reason
from . import start_intents
from .attachments import user_attachments
from .budget import OverBudget, SendBudgets
from .connection import GenesysConnection
from .copilot_view import copilot_view
from .disconnects import disconnect_customer, try_disconnect
from .followers import Followers
from .opening import open_conversation
from .settings import HandoverSettings
from .settle import outbox_items, settle_outbox, undelivered_notices
from .state import (
    BY_CONVERSATION,
    BY_USER,
    ENDED,
    ENDED_HISTORY,
    PENDING_RESOLVE,
    QUICK_REPLY_OFFERS,
    TYPING_TO,
    HandoverState,
    ended_history,
)

log = logging.getLogger("extension.handover")

CANCEL_PAYLOAD = "cancel"
TYPING_INTERVAL = 5.0
TYPING_CLAIM = "om:typing"
# The typing limit's per-session times are pruned of old ones once this many are kept.
TYPING_TIMES_KEPT = 10000


class GenesysHandover:
    """Starts, feeds and ends handovers; the outbox, webhook and end detection call into it."""

    def __init__(self, sessions: Sessions, connections: Mapping[str, GenesysConnection],
                 flags: FeatureFlags, settings: HandoverSettings, metrics: Metrics, *,
                 copilot_link: LinkMaker | None = None, followers: Followers | None = None,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.sessions = sessions
        self.clock = clock
        self.store = sessions.store
        self.connections = dict(connections)
        self.flags = flags
        self.settings = settings
        self.metrics = metrics
        self.budgets = SendBudgets(settings.session_messages_per_minute, settings.connection_messages_per_minute,
                                   clock.time)
        self._last_typing: dict[str, float] = {}
        self._typing: dict[str, asyncio.Task[None]] = {}
        # The outbox sender, the end detector and the notifications follow each handover through these.
        self.followers = followers or Followers()
        self.copilot_link = copilot_link

    # The handoverToAgent node ----------------------------------------------------------------
    async def start(self, api: NodeApi, config: dict[str, Any]) -> None:
        endpoint = api.endpoint
        if om_disabled_reason(self.flags, endpoint.organisation) or endpoint.handover not in self.connections:
            return self._fail(api, "unsupported", endpoint.handover)
        if HandoverState.from_doc(api.handover_state) is not None:
            log.warning("handoverToAgent reached while a handover is active; ignored")
            return self._fail(api, "active", endpoint.handover)
        conn = self.connections[endpoint.handover]
        try:
            state = await open_conversation(self, api, conn, config)
        except GenesysError as exc:
            log.error("handover start failed on connection %s: %s", conn.name, exc)
            self.metrics.handovers.inc(status="error")
            return self._fail(api, "error", conn.name)
        key = api.key
        transitions.log_transition(transitions.STARTED, key, conn.name, state.conversation_id)
        api.after_commit(lambda: _logged(transitions.QUEUED, key, state))
        api.set_handover_state(state.to_doc())
        await self.store.index_set(BY_CONVERSATION, state.conversation_id, api.key.id)
        store, user_id = self.store, state.genesys_user_id
        api.after_commit(lambda: start_intents.committed(store, user_id))
        key_id = api.key.id
        api.after_commit(lambda: self._typing_to(key_id, state))
        quick = None
        if state.options.cancel_button_text:
            quick = {"quickReplies": [{"title": state.options.cancel_button_text, "payload": CANCEL_PAYLOAD}]}
        api.output(state.options.accepted_message, quick)
        api.emit_handover("queue")
        self.metrics.handovers.inc(status="queue")
        followers = self.followers
        api.after_commit(lambda: followers.started(conn.name, state.conversation_id))
        if config.get("sendQueueEvent"):
            api.input["handover"] = {"status": "queue"}
        else:
            api.wait()

    @staticmethod
    def _fail(api: NodeApi, reason: str, connection: str | None) -> None:
        transitions.log_transition(transitions.ERROR, api.key, connection, None, reason)
        api.input["handover"] = {"status": "error", "reason": reason}
        api.emit_handover("error", reason=reason)

    # The closeHandover node ------------------------------------------------------------------
    async def close(self, api: NodeApi, config: dict[str, Any]) -> None:
        state = HandoverState.from_doc(api.handover_state)
        if state is None:
            return
        conn = self.connections.get(state.connection)
        if conn is not None:
            # Failed, it is retried from a durable record; the flow goes on at once either way.
            await disconnect_customer(self.store, conn, state.conversation_id, "closeHandover")
        api.set_handover_state(None)
        now = self.clock.time()
        api.set(ENDED, state.ended_record(now))
        api.set(ENDED_HISTORY, ended_history(api.get(ENDED_HISTORY), state, "completed", now))
        for text in undelivered_notices(state.outbox):
            api.output(text, None, "system")
        api.emit_handover("completed")
        api.input["handover"] = {"status": "completed"}
        self.metrics.handovers.inc(status="completed")
        key_id, key = api.key.id, api.key
        api.after_commit(lambda: _logged(transitions.ENDED, key, state, "closeHandover"))
        api.after_commit(lambda: self.forget(key_id, state, keep_user=True))

    def copilot_view(self, session: Session, handover: str) -> CopilotView:
        """What the Copilot page shows of the session (copilot_view.py)."""
        return copilot_view(session, handover)

    # The session itself ends -----------------------------------------------------------------
    async def on_session_end(self, session: Session) -> AfterEnd | None:
        """A session deleted or expired in handover disconnects the customer first (docs/CONTRACT.md 6.4)."""
        state = HandoverState.from_doc(session.handover)
        if state is None:
            return None
        conn = self.connections.get(state.connection)
        # A refusal for good lets the session go (logged); a failure worth retrying keeps it.
        failure = await try_disconnect(conn, state.conversation_id, "session end") if conn else None
        if failure is not None:
            raise SessionKept(f"its Genesys conversation could not be ended ({failure})")
        self.metrics.handovers.inc(status="session_ended")
        transitions.log_transition(transitions.ENDED, session.key, state.connection, state.conversation_id,
                                   "the session ended")
        return lambda: self.forget(session.key.id, state)

    # User input during a handover ------------------------------------------------------------
    async def on_input(self, turn: Turn) -> bool:
        """Route an input to Genesys while a handover is active; False lets the flow run."""
        session = turn.session
        pending = session.context.pop(PENDING_RESOLVE, None)
        state = HandoverState.from_doc(session.handover)
        if state is None:
            if pending:
                turn.input["handover"] = pending
            return False
        text, data = turn.input.get("text"), turn.input.get("data") or {}
        if state.status == "queue" and self._is_cancel(state, text, data):
            await self._cancel(turn, state)
            return False
        attachments = user_attachments(data)
        if not text and not attachments:
            return True
        items = outbox_items(state, text or "", attachments, self.clock.time())
        choice = chosen_quick_reply(text, data, session.context.get(QUICK_REPLY_OFFERS))
        if choice is not None and len(items) == 1 and not items[0].get("attachments"):
            # A quick reply the agent offered goes back as the choice it is, payload and all.
            items[0]["quickReply"] = choice
        self._spend_budget(turn.endpoint.url_token, state, len(items))
        state.outbox.extend(items)
        if state.options.repeat_accepted_message and state.status == "queue" and state.options.accepted_message:
            turn.events.append(output_event(state.options.accepted_message))
        session.handover = state.to_doc()
        followers, key_id = self.followers, session.key.id
        turn.after_commit.append(lambda: followers.queued(key_id))
        return True

    def _spend_budget(self, url_token: str, state: HandoverState, cost: int) -> None:
        """Spend the session's and the connection's send budget, or refuse the input (429, nothing kept)."""
        bucket = self.budgets.session_bucket(state.send_tokens, state.send_at)
        try:
            self.budgets.spend(bucket, state.connection, cost)
        except OverBudget as exc:
            self.metrics.user_inputs.inc(endpoint=url_token, outcome="over_budget")
            raise BadInput(texts.SEND_BUDGET.format(seconds=exc.retry_after), 429, exc.retry_after) from None
        state.send_tokens, state.send_at = bucket.tokens, bucket.at

    @staticmethod
    def _is_cancel(state: HandoverState, text: Any, data: dict[str, Any]) -> bool:
        if isinstance(text, str) and state.options.cancel_text and \
                text.strip().casefold() == state.options.cancel_text.casefold():
            return True
        return data.get("payload") == CANCEL_PAYLOAD or (
            isinstance(data.get("quickReply"), dict) and data["quickReply"].get("payload") == CANCEL_PAYLOAD)

    async def _cancel(self, turn: Turn, state: HandoverState) -> None:
        conn = self.connections.get(state.connection)
        if conn is not None:
            # Failed, it is retried from a durable record; the user is back with the bot at once.
            await disconnect_customer(self.store, conn, state.conversation_id, "cancel")
        turn.session.handover = None
        now = self.clock.time()
        turn.session.context[ENDED] = state.ended_record(now)
        _remember_end(turn.session.context, state, "cancelled", now)
        for text in undelivered_notices(state.outbox):
            turn.events.append(output_event(text, None, "system"))
        turn.events.append(handover_event("cancelled"))
        turn.input["handover"] = {"status": "cancelled"}
        self.metrics.handovers.inc(status="cancelled")
        key_id, key = turn.session.key.id, turn.session.key
        turn.after_commit.append(lambda: _logged(transitions.CANCELLED, key, state))
        turn.after_commit.append(lambda: self.forget(key_id, state, keep_user=True))

    async def on_typing(self, endpoint: Endpoint, key: SessionKey) -> None:
        """Forward the user's typing, at most once per TYPING_INTERVAL seconds per session.

        The session document is never read for it (it may hold a long transcript): a small
        index says where the session's typing goes while its handover is open.
        """
        target = await self.store.index_get(TYPING_TO, key.id)
        if target is None:
            return
        to = json.loads(target)
        conn = self.connections.get(to.get("connection"))
        # An entry the end of its handover raced past (set just after the end dropped it) is stale.
        if conn is None or await self.store.index_get(BY_CONVERSATION, to.get("conversationId", "")) != key.id:
            await self.store.index_delete(TYPING_TO, key.id)
            return
        now = self.clock.monotonic()
        if now - self._last_typing.get(key.id, -TYPING_INTERVAL) < TYPING_INTERVAL:
            return
        if len(self._last_typing) >= TYPING_TIMES_KEPT:
            self._last_typing = {k: t for k, t in self._last_typing.items() if now - t < TYPING_INTERVAL}
        self._last_typing[key.id] = now
        # The limit is shared by the replicas: a user's socket can move from one to another.
        if not await self.store.claim(TYPING_CLAIM, key.id, TYPING_INTERVAL):
            return
        # Fire and forget: the user's next message must never wait behind a typing event that
        # Genesys is slow to answer (at most one in flight per session).
        key_id = key.id
        if key_id in self._typing:
            return
        self._typing[key_id] = asyncio.create_task(
            self._send_typing(key_id, conn, to["integrationId"], to["userId"]), name="typing")

    async def _typing_to(self, key_id: str, state: HandoverState | None) -> None:
        """Keep where the session's typing goes (None: nowhere, the handover ended or is ending)."""
        if state is None:
            await self.store.index_delete(TYPING_TO, key_id)
            return
        await self.store.index_set(TYPING_TO, key_id, json.dumps(
            {"connection": state.connection, "integrationId": state.integration_id,
             "userId": state.genesys_user_id, "conversationId": state.conversation_id}))

    async def _send_typing(self, key_id: str, conn: GenesysConnection, integration_id: str, user_id: str) -> None:
        try:
            await conn.client.send_inbound_event(integration_id, inbound_typing(user_id))
        except GenesysError as exc:
            log.info("typing event not delivered: %s", exc)
        finally:
            self._typing.pop(key_id, None)

    async def typing_sent(self) -> None:
        """Wait for the typing events in flight to Genesys (their answers or failures)."""
        await asyncio.gather(*list(self._typing.values()), return_exceptions=True)

    async def close_typing(self) -> None:
        """Stop the typing events still in flight (on shutdown)."""
        tasks = list(self._typing.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # Agent joined -----------------------------------------------------------------------------
    async def activate(self, turn: Turn, state: HandoverState) -> None:
        """Queue -> active: tell the user, and resume the flow with `active` when asked."""
        state.status = "active"
        turn.session.handover = state.to_doc()
        turn.events.append(handover_event("active"))
        self.metrics.handovers.inc(status="active")
        key = turn.session.key
        turn.after_commit.append(lambda: _logged(transitions.ACTIVE, key, state))
        if state.options.send_active_event:
            turn.input["handover"] = {"status": "active"}
            await self.sessions.run_flow(turn)

    async def mark_active(self, conversation_id: str, *, connection: str | None = None,
                          connected: bool = True) -> bool:
        """An agent is connected; with `connected` False, one is being connected (`user.start`).

        Either way an end being confirmed is called off. Only a connected agent makes the handover
        active. Returns True when the handover still waits for its agent.
        """
        found = await self.session_of(BY_CONVERSATION, conversation_id)
        if found is None:
            return False
        key_id = found[1].id
        async with self.sessions.turn(*found) as turn:
            state = HandoverState.from_doc(turn.session.handover)
            if state is None or state.conversation_id != conversation_id or (
                    connection is not None and state.connection != connection):
                turn.discard()
                return False
            resumed = state.pending_end_at is not None
            if resumed:
                # A new agent came within the end debounce: the messages held meanwhile go to them.
                log.info("conversation %s: an agent joined before the end was confirmed; sending the "
                         "%d held message(s)", conversation_id, len(state.outbox))
                state.pending_end_at = None
                turn.session.handover = state.to_doc()
                turn.after_commit.append(lambda: self._typing_to(key_id, state))
                if state.outbox:
                    followers = self.followers
                    turn.after_commit.append(lambda: followers.queued(key_id))
            if state.status == "queue" and connected:
                await self.activate(turn, state)
            elif not resumed:
                turn.discard()
            return state.status == "queue"

    async def mark_ending(self, conversation_id: str, *, connection: str | None = None) -> None:
        """The agent left (a `user.end` that is not a transfer): hold what the user sends meanwhile.

        Until the end is confirmed or a new agent joins, user messages are kept, not sent: sent
        now, they would open a new Genesys conversation that no session watches.
        """
        found = await self.session_of(BY_CONVERSATION, conversation_id)
        if found is None:
            return
        async with self.sessions.turn(*found) as turn:
            state = HandoverState.from_doc(turn.session.handover)
            if state is None or state.conversation_id != conversation_id or state.pending_end_at is not None or (
                    connection is not None and state.connection != connection):
                turn.discard()
                return
            state.pending_end_at = self.clock.time()
            turn.session.handover = state.to_doc()
            # Nothing goes to Genesys for the handover meanwhile, typing included.
            key_id = turn.session.key.id
            turn.after_commit.append(lambda: self._typing_to(key_id, None))

    # Ending ------------------------------------------------------------------------------------
    async def session_of(self, namespace: str, genesys_id: str) -> tuple[Endpoint, SessionKey] | None:
        key_id = await self.store.index_get(namespace, genesys_id)
        if key_id is None:
            return None
        key = SessionKey.from_id(key_id)
        endpoint = self.sessions.endpoint(key.url_token)
        return (endpoint, key) if endpoint is not None else None

    async def finish(self, conversation_id: str, status: str, reason: str | None = None, *,
                     connection: str | None = None) -> bool:
        """End the handover of a Genesys conversation and resume the flow; False if none is active.

        With `connection`, only a handover of that connection ends (an end event authorized by one
        tenant's key cannot end another tenant's handover).
        """
        found = await self.session_of(BY_CONVERSATION, conversation_id)
        if found is None:
            return False
        endpoint, key = found
        ended: HandoverState | None = None
        async with self.sessions.turn(endpoint, key) as turn:
            state = HandoverState.from_doc(turn.session.handover)
            if state is None or state.conversation_id != conversation_id or (
                    connection is not None and state.connection != connection):
                turn.discard()
            else:
                ended = state
                turn.session.handover = None
                now = self.clock.time()
                turn.session.context[ENDED] = state.ended_record(now)
                _remember_end(turn.session.context, state, status, now)
                lost, held = settle_outbox(state)
                for text in undelivered_notices(lost):
                    turn.events.append(output_event(text, None, "system"))
                extra = {"reason": reason} if reason else {}
                turn.events.append(handover_event(status, **extra))
                outcome = {"status": status, **extra}
                if state.options.send_resolve_event:
                    turn.input["handover"] = outcome
                    await self.sessions.run_flow(turn)
                else:
                    turn.session.context[PENDING_RESOLVE] = outcome
                # Sent while the end was being confirmed: the bot answers them now, in order.
                for item in held:
                    await self.sessions.apply_input(turn, item.get("text") or None, _held_data(item))
        if ended is None:
            if connection is None:
                await self.store.index_delete(BY_CONVERSATION, conversation_id)
            return False
        self.metrics.handovers.inc(status=status)
        transitions.log_transition(transitions.of_status(status), key, ended.connection, conversation_id, reason)
        await self.forget(key.id, ended, keep_user=True)
        return True

    async def forget(self, key_id: str, state: HandoverState, *, keep_user: bool = False) -> None:
        """Drop the indexes and subscriptions of an ended handover.

        With `keep_user` (the session lives on), the Genesys user id still leads to the session, so
        an agent message Genesys retries after the end reaches the user; the reconciler drops the
        entry once the session's ENDED record is too old (LATE_MESSAGE_SECONDS).
        """
        if not keep_user:
            await self.store.index_delete(BY_USER, state.genesys_user_id)
        await self.store.index_delete(BY_CONVERSATION, state.conversation_id)
        await self._typing_to(key_id, None)
        await self.followers.ended(state)


async def _logged(what: str, key: SessionKey, state: HandoverState, reason: str | None = None) -> None:
    """A transition logged once its turn is stored (an after-commit callback)."""
    transitions.log_transition(what, key, state.connection, state.conversation_id, reason)


def _held_data(item: dict[str, Any]) -> dict[str, Any]:
    """The `data` of a held outbox item given back to the flow."""
    return {"attachments": item["attachments"]} if item.get("attachments") else {}


def _remember_end(context: dict[str, Any], state: HandoverState, status: str, at: float) -> None:
    context[ENDED_HISTORY] = ended_history(context.get(ENDED_HISTORY), state, status, at)


# A choice of the user's (data.buttonResponse.type) and the ContentButtonResponse type Genesys takes
# for it: the SDK's OpenInboundStructuredResponseMessage allows Button, QuickReply and DatePicker
# only, so a list picker selection goes as a Button (assumed, docs/GENESYS_NOTES.md section 10).
RESPONSE_TYPES = {"QuickReply": "QuickReply", "Button": "Button", "DatePicker": "DatePicker", "ListPicker": "Button"}


def chosen_quick_reply(text: Any, data: dict[str, Any], offers: Any) -> dict[str, str] | None:
    """`data.quickReply` {payload, messageId} (or `data.buttonResponse` {type, payload, messageId}:
    a card's button, a list picker's or date picker's choice) of an input that answers one of the
    agent messages in `offers` (messageId: that message's event id, its Genesys message id), with
    its title as the text; None for anything else (a bot's quick reply, a choice with no id),
    which then goes to Genesys as plain text."""
    choice, kind = data.get("quickReply"), "QuickReply"
    if not isinstance(choice, dict):
        choice = data.get("buttonResponse")
        kind = str(choice.get("type")) if isinstance(choice, dict) else ""
    if not isinstance(choice, dict) or kind not in RESPONSE_TYPES or not isinstance(text, str) or not text.strip():
        return None
    payload, message_id = choice.get("payload"), choice.get("messageId")
    if not (isinstance(payload, str) and payload and isinstance(message_id, str) and message_id):
        return None
    if not isinstance(offers, list) or message_id not in offers:
        return None
    return {"payload": payload[:1000], "messageId": message_id[:256], "type": RESPONSE_TYPES[kind]}
