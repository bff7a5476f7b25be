"""User messages to Genesys: one in flight per session, in order, kept in the session until sent.

Across replicas, a session's sender holds the lease `outbox:<session>`: whichever replica queued a
message, one sends, in order; when its holder dies, the lease expires and another replica resumes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from ...clock import SYSTEM_CLOCK, Clock
from ...flows.events import output_event
from ...flows.session import SessionKey
from ...genesys import CallAbandoned, GenesysError, GenesysRateLimited
from ...genesys.client import Proceed
from ...genesys.messages import inbound_structured_response, inbound_text
from ...genesys.retry import is_retryable
from ...repeating import RepeatedFailure
from ...store import Coordination, LocalCoordination, StoreError
from ...store.coordination import Lease
from ...tasks import BackgroundTasks
from .attachments import to_attachment
from .connection import GenesysConnection
from .provider import GenesysHandover
from .receipts import failed_notice, remember_sent, unpark_failure
from .state import BY_USER, HandoverState

log = logging.getLogger("extension.providers.genesys_om.outbox")

DELAY_NOTICE = "Your message is taking longer than usual to reach the agent. It will be delivered as soon as possible."
NOT_DELIVERED = "Your last message could not be delivered to the agent."


class OutboxSender:
    """Drains each session's outbox in order; the items live in the stored handover state."""

    def __init__(self, handover: GenesysHandover, background: BackgroundTasks,
                 coordination: Coordination | None = None, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.handover = handover
        self.clock = clock
        self.background = background
        self.settings = handover.settings
        self.coordination = coordination or LocalCoordination()
        self._running: dict[str, asyncio.Task[Any]] = {}
        self.sent = 0
        # A sender stops by itself when it finds its handover gone: the end needs nothing here.
        handover.followers.follow(queued=self.kick)

    async def kick(self, key_id: str) -> None:
        """Make sure a sender is draining this session's outbox."""
        task = self._running.get(key_id)
        if task is None or task.done():
            self._running[key_id] = self.background.spawn(self._drain(key_id), name="outbox")

    async def resume_all(self) -> int:
        """After a restart: restart the senders of every handover with waiting messages."""
        kicked = 0
        for key_id in set((await self.handover.store.index_items(BY_USER)).values()):
            doc = await self.handover.store.get_session(key_id)
            state = HandoverState.from_doc(doc.get("handover") if doc else None)
            if state is not None and state.outbox:
                await self.kick(key_id)
                kicked += 1
        return kicked

    async def _drain(self, key_id: str) -> None:
        key = SessionKey.from_id(key_id)
        endpoint = self.handover.sessions.endpoint(key.url_token)
        if endpoint is None:
            return
        ttl = self.settings.lease_seconds
        paused = RepeatedFailure(log, f"outbox of a session of endpoint {key.url_token}", level=logging.WARNING)
        while True:
            sending_here = False
            try:
                async with self.coordination.holding(f"outbox:{key_id}", ttl, self.clock) as lease:
                    sending_here = lease.held
                    if sending_here:
                        await self._send_all(endpoint, key, lease)
                # A message queued elsewhere while this replica held the lease found it taken: look
                # again once released. Without the lease, wait: its holder sends, or dies and it expires.
                paused.succeeded()
                if await self._waiting(key_id) is None:
                    return
            except StoreError as exc:  # the messages are stored; try again when the store answers
                paused.failed(exc)
                sending_here = False
            if not sending_here:
                await self.clock.sleep(ttl / 2)

    async def _waiting(self, key_id: str) -> HandoverState | None:
        """The handover state when it has messages to send on a known connection, else None."""
        doc = await self.handover.store.get_session(key_id)
        state = HandoverState.from_doc(doc.get("handover") if doc else None)
        if state is None or not state.outbox or state.connection not in self.handover.connections:
            return None
        if state.pending_end_at is not None:
            # The agent left and the end is being confirmed: hold (ending.py), send nothing.
            return None
        return state

    def _still_wanted(self, key_id: str, user_id: str, message_id: str) -> Proceed:
        """Asked before each retry of a send: is this message still the head of a live handover?"""

        async def proceed() -> bool:
            state = await self._waiting(key_id)
            return state is not None and state.genesys_user_id == user_id and state.outbox[0]["messageId"] == message_id

        return proceed

    async def _send_all(self, endpoint: Any, key: SessionKey, lease: Lease) -> None:
        """Send the outbox head by head while this replica holds the session's sender lease."""
        delay = 0.2
        waits = RepeatedFailure(log, f"sending to Genesys for a session of endpoint {key.url_token}",
                                level=logging.WARNING)
        while lease.held:
            state = await self._waiting(key.id)
            if state is None:
                return
            conn = self.handover.connections[state.connection]
            item = state.outbox[0]
            failed: GenesysError | None = None
            proceed = self._still_wanted(key.id, state.genesys_user_id, item["messageId"])
            answer: Any = None
            try:
                answer = await self._send_watching_delay(_send(conn, state, item, proceed), endpoint, key, item)
                self.sent += 1
                delay = 0.2
                waits.succeeded()
            except CallAbandoned:
                # The handover ended (or its end is pending) between two tries: its end settles the item.
                log.info("user message %s not sent: its handover is ending", item["messageId"])
                return
            except GenesysError as exc:
                if is_retryable(exc):
                    waits.failed(exc)
                    await self._notice_delay(endpoint, key, item)
                    # A rate limit says how long to stay away; never come back before it expires.
                    retry_after = exc.retry_after if isinstance(exc, GenesysRateLimited) else None
                    await self.clock.sleep(max(delay, retry_after or 0.0))
                    delay = min(delay * 2, self.settings.outbox_retry_max_seconds)
                    continue
                # A 4xx is a refusal we know of; "could not be delivered" is said only then.
                log.error("user message %s refused by Genesys: %s", item["messageId"], exc)
                failed = exc
            genesys_id = answer.get("id") if isinstance(answer, dict) else None
            await self._remove(endpoint, key, item["messageId"], failed, genesys_id)

    async def _remove(self, endpoint: Any, key: SessionKey, message_id: str, failed: GenesysError | None,
                      genesys_id: Any = None) -> None:
        # A turn of its own, on purpose (docs/CONTRACT.md 6.2): the message was stored with the
        # user's turn before the user heard back, and leaves only once Genesys has it.
        async with self.handover.sessions.turn(endpoint, key) as turn:
            state = HandoverState.from_doc(turn.session.handover)
            if state is None or not state.outbox or state.outbox[0]["messageId"] != message_id:
                turn.discard()
                return
            sent = state.outbox.pop(0)
            if not state.outbox:
                state.delay_notified = False
            turn.session.handover = state.to_doc()
            if failed is not None:
                turn.events.append(output_event(NOT_DELIVERED, None, "system"))
            elif isinstance(genesys_id, str) and genesys_id:
                remember_sent(turn.session.context, genesys_id, sent)
                reasons = unpark_failure(turn.session.context, genesys_id)
                if reasons is not None:
                    turn.events.append(output_event(failed_notice(turn.session.context, genesys_id, reasons),
                                                    None, "system"))

    async def _send_watching_delay(self, send: Any, endpoint: Any, key: SessionKey, item: dict[str, Any]) -> Any:
        """Await the send (its answer); if it is still retrying when the notice time passes, tell the user then."""
        task = asyncio.ensure_future(send)
        try:
            waited = self.clock.time() - float(item.get("queuedAt", self.clock.time()))
            remaining = self.settings.delivery_notice_seconds - waited
            if remaining > 0:
                notice_time = asyncio.ensure_future(self.clock.sleep(remaining))
                try:
                    await asyncio.wait({task, notice_time}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    notice_time.cancel()
                if task.done():
                    return task.result()
            await self._notice_delay(endpoint, key, item)
            return await task
        finally:
            task.cancel()

    async def _notice_delay(self, endpoint: Any, key: SessionKey, item: dict[str, Any]) -> None:
        """Tell the user once when a message has waited longer than delivery_notice_seconds."""
        if self.clock.time() - float(item.get("queuedAt", self.clock.time())) < self.settings.delivery_notice_seconds:
            return
        async with self.handover.sessions.turn(endpoint, key) as turn:
            state = HandoverState.from_doc(turn.session.handover)
            if state is None or state.delay_notified:
                turn.discard()
                return
            state.delay_notified = True
            turn.session.handover = state.to_doc()
            turn.events.append(output_event(DELAY_NOTICE, None, "system"))


def _send(conn: GenesysConnection, state: HandoverState, item: dict[str, Any], proceed: Proceed) -> Awaitable[Any]:
    """The call that sends one outbox item: a structured response for a chosen quick reply, else a
    message with its text and at most one attachment."""
    choice = item.get("quickReply")
    if isinstance(choice, dict):
        body = inbound_structured_response(item["messageId"], state.genesys_user_id, item.get("text") or "",
                                           choice["payload"], choice["messageId"],
                                           response_type=str(choice.get("type") or "QuickReply"))
        return conn.client.send_inbound_structured_response(state.integration_id, body, proceed=proceed)
    body = inbound_text(item["messageId"], state.genesys_user_id, item.get("text") or "",
                        attachment=to_attachment(item.get("attachments") or []))
    return conn.client.send_inbound_message(state.integration_id, body, prefetch_conversation_id=False,
                                            proceed=proceed)
