"""Agent messages from the webhook to the user's event log, deduplicated, then receipted."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...flows.engine import Endpoint
from ...flows.events import output_event, typing_event
from ...flows.session import SessionKey
from ...genesys import GenesysError
from ...genesys.messages import delivery_receipt
from ...genesys.outbound import OutboundMessage
from ...tasks import BackgroundTasks
from .agent_files import AgentFiles
from .connection import GenesysConnection
from .provider import GenesysHandover
from .receipts import failed_notice, is_sent, park_failure
from .state import (
    BY_USER,
    ENDED,
    QUICK_REPLY_OFFERS,
    QUICK_REPLY_OFFERS_KEPT,
    SEEN_WEBHOOKS,
    HandoverState,
    ended_recently,
)

log = logging.getLogger("extension.providers.genesys_om.delivery")

# Every stored agent message is also claimed in the store under its webhook id for this long, so a
# replay older than the session's recent-id window is still recognised (Genesys redelivers for
# seconds; a day covers any replay of a captured, validly signed request).
WEBHOOK_CLAIM = "om:webhook"
WEBHOOK_CLAIM_SECONDS = 24 * 3600.0

# Said to the user for an agent message whose only content this runtime cannot show (a type it does
# not know, reactions, a file without a URL, a card with nothing in it); logged once per kind.
UNSUPPORTED = "The agent sent a message that this chat cannot show."
_UNKNOWN_LOGGED: set[str] = set()

# Where an agent message goes: the session of its recipient.
Found = tuple[Endpoint, SessionKey]


@dataclass
class _Step:
    """One message of a delivery turn: where it went and what became of it."""

    msg: OutboundMessage
    conn: GenesysConnection
    claim: str
    late: bool
    outcome: str = "failed"
    kept: bool = False  # something of it is stored with the turn


class AgentDelivery:
    """Stores each agent message for its user exactly once, before the webhook is answered."""

    def __init__(self, handover: GenesysHandover, background: BackgroundTasks, files: AgentFiles) -> None:
        self.handover = handover
        self.background = background
        self.files = files

    async def deliver(self, candidates: list[GenesysConnection], msg: OutboundMessage) -> str:
        """Returns the outcome: delivered, duplicate, typing, receipt, ignored or failed."""
        early = self.screen(msg)
        if early is not None:
            return early
        return await self.deliver_to(candidates, msg, await self.locate(msg))

    def screen(self, msg: OutboundMessage) -> str | None:
        """The outcome of a message no session takes (receipt, ignored), else None."""
        if msg.type == "Receipt":
            if msg.receipt_status == "Failed":
                # The user is told (deliver_to): their message never reached the agent.
                log.warning("Genesys reports a user message failed: %s", msg.receipt_reasons)
                return None
            return "receipt"
        if msg.type not in ("Text", "Structured", "Event") or (msg.type == "Event" and not msg.typing):
            log.debug("ignored webhook message of type %s", msg.raw_type or msg.type)
            return "ignored"
        return None

    async def locate(self, msg: OutboundMessage) -> Found | None:
        """The session of the message's recipient, or None when no handover has that user."""
        return await self.handover.session_of(BY_USER, msg.to_id) if msg.to_id else None

    async def deliver_to(self, candidates: list[GenesysConnection], msg: OutboundMessage,
                         found: Found | None) -> str:
        """Deliver a screened message to the session `locate` found; returns the outcome.

        `candidates` are the connections whose secret signed the message: several may share one
        integration, so the one that owns the recipient's handover (or its just-ended one) takes it.
        """
        return (await self.deliver_batch([(candidates, msg)], found))[0]

    async def deliver_batch(self, items: Sequence[tuple[list[GenesysConnection], OutboundMessage]],
                            found: Found | None) -> list[str]:
        """Deliver screened messages for one session in one turn, in order; their outcomes.

        A backlog of one session (a hot conversation) is stored with one commit; each message is
        still checked, deduplicated and receipted on its own.
        """
        if found is None:
            outcomes = []
            for candidates, msg in items:
                if msg.type == "Receipt":
                    outcomes.append("receipt")  # about a message of a session gone since: nobody to tell
                    continue
                self._receipt(candidates[0], msg, "Failed",
                              ("InvalidDestination", "no active handover for this recipient"))
                outcomes.append("failed")
            return outcomes
        endpoint, key = found
        # Claims outlive the session's recent ids: asked for all at once, before the turn (a
        # claim is only written with the turn that stored its message, so none appears meanwhile
        # that the recent ids, read under the lock, would not show).
        claimed = await self.handover.store.claimed_many(
            WEBHOOK_CLAIM, [f"{conn.name}:{msg.id}" for candidates, msg in items for conn in candidates])
        async with self.handover.sessions.turn(endpoint, key) as turn:
            steps = [await self._apply(turn, key, candidates, msg, claimed) for candidates, msg in items]
            if not any(step.kept for step in steps):
                turn.discard()
        for step in steps:
            await self._after_commit(step)
        return [step.outcome for step in steps]

    async def _apply(self, turn: Any, key: SessionKey, candidates: list[GenesysConnection],
                     msg: OutboundMessage, claimed: set[str]) -> _Step:
        """One message inside the session's turn: what it changes, and its outcome."""
        session = turn.session
        state = HandoverState.from_doc(session.handover)
        owner, late = _owner(candidates, state, session.context.get(ENDED), msg.to_id,
                             self.handover.clock.time())
        conn = owner or candidates[0]
        step = _Step(msg, conn, f"{conn.name}:{msg.id}", late)
        seen: list[str] = session.context.setdefault(SEEN_WEBHOOKS, [])
        # The recent ids are checked and written under the session lock with the message itself;
        # the claim (written with the turn) covers ids that have left that window.
        if msg.id in seen or step.claim in claimed:
            step.outcome = "duplicate"
            return step
        if msg.type == "Receipt":
            step.outcome = "receipt"
            if owner is not None:
                step.kept = True
                self._remember(turn, step, seen)
                if is_sent(session.context, msg.id):
                    turn.events.append(output_event(
                        failed_notice(session.context, msg.id, msg.receipt_reasons), None, "system"))
                else:
                    park_failure(session.context, msg.id, msg.receipt_reasons)
            return step
        if owner is None or (late and msg.type == "Event"):
            # Ended long ago, or another tenant's handover: a message signed for one connection
            # never reaches a session of another. Typing after the end means nothing.
            step.outcome = "ignored" if owner is not None else "failed"
            return step
        if msg.type != "Event" and not _carries_anything(msg):
            # No text and no content at all: nothing was sent, so nothing is receipted.
            step.outcome = "ignored"
            return step
        step.kept = True
        self._remember(turn, step, seen)
        step.outcome = "typing" if msg.type == "Event" else "delivered"
        if msg.type == "Event":
            turn.events.append(typing_event("agent"))
        elif not await self._agent_output(turn, None if late else state, msg, conn, key):
            step.outcome = "unsupported"
        return step

    def _remember(self, turn: Any, step: _Step, seen: list[str]) -> None:
        """The message is kept with the turn: its id joins the recent ids, its claim the turn."""
        seen.append(step.msg.id)
        del seen[: -self.handover.settings.dedup_window]
        turn.claims.append((WEBHOOK_CLAIM, step.claim, WEBHOOK_CLAIM_SECONDS))

    async def _after_commit(self, step: _Step) -> None:
        msg, conn = step.msg, step.conn
        if step.late and step.outcome == "delivered":
            # Genesys retried it after an outage: it was written before the agent ended.
            log.info("agent message %s of ended conversation %s delivered late", msg.id, msg.conversation_id)
        if step.outcome == "failed":
            self._receipt(conn, msg, "Failed", ("InvalidDestination", "the handover of this recipient has ended"))
        elif step.outcome == "unsupported":
            self._receipt(conn, msg, "Failed", ("UnsupportedMessage", "the user's chat cannot show this content"))
        elif step.outcome == "delivered":
            self._receipt(conn, msg, "Delivered")

    async def _agent_output(self, turn: Any, state: HandoverState | None, msg: OutboundMessage,
                            conn: GenesysConnection, key: SessionKey) -> bool:
        """Add the agent's message to the user's events; False when only a line saying it cannot be
        shown was added (content of a type this runtime does not know). A file's URL is the
        runtime's signed link to it (agent_files.py)."""
        human = (msg.originating_entity or "Human") != "Bot"
        data: dict[str, Any] = dict(msg.rich.data)
        unknown = msg.rich.unknown
        if not unknown and not _carries_readable(msg):
            # Content entries of which nothing could be read (a quick reply without a title, a
            # text entry without a body): said rather than dropped.
            unknown = ("content with nothing readable",)
        for kind in unknown:
            if kind not in _UNKNOWN_LOGGED:
                _UNKNOWN_LOGGED.add(kind)
                log.warning("agent content %r cannot be shown; the user gets its text or a notice", kind)
        if msg.attachments:
            data["attachments"] = [
                {"url": await self.files.user_url(conn, key, a), "mime": a.mime, "filename": a.filename,
                 "mediaType": a.media_type}
                for a in msg.attachments
            ]
        if msg.quick_replies:
            data["quickReplies"] = [{"title": q.text, "payload": q.payload} for q in msg.quick_replies]
        if msg.quick_replies or msg.rich.interactive:
            offers = [o for o in turn.session.context.get(QUICK_REPLY_OFFERS) or [] if isinstance(o, str)]
            turn.session.context[QUICK_REPLY_OFFERS] = [*offers, msg.id][-QUICK_REPLY_OFFERS_KEPT:]
        text = msg.text or msg.rich.fallback or None
        if not msg.text and msg.rich.fallback:
            # A page that draws the content shows it instead of this text.
            data["textFromContent"] = True
        shown = bool(text or data)
        if shown:
            turn.events.append(output_event(text, data or None, "agent" if human else "system", event_id=msg.id))
        else:
            turn.events.append(output_event(UNSUPPORTED, None, "system", event_id=msg.id))
        if human and state is not None and state.status == "queue":
            await self.handover.activate(turn, state)
        return shown

    def _receipt(self, conn: GenesysConnection, msg: OutboundMessage, status: str, *reason: tuple[str, str]) -> None:
        integration_id = msg.integration_id or conn.integration_id
        if not msg.to_id or not integration_id:
            return
        body = delivery_receipt(msg.id, msg.to_id, status, reason)

        async def post() -> None:
            try:
                await conn.client.send_inbound_receipt(integration_id, body)
            except GenesysError as exc:
                log.info("%s receipt for %s not posted: %s", status, msg.id, exc)

        self.background.spawn(post(), name=f"receipt-{status}")


def _owner(candidates: list[GenesysConnection], state: HandoverState | None, ended: Any,
           to_id: str | None, now: float) -> tuple[GenesysConnection | None, bool]:
    """The candidate connection that owns the recipient's handover, and whether it has just ended."""
    by_name = {conn.name: conn for conn in candidates}
    if state is not None and state.genesys_user_id == to_id and state.connection in by_name:
        return by_name[state.connection], False
    recent = ended_recently(ended, to_id, now)
    if recent is not None and recent in by_name:
        return by_name[recent], True
    return None, False


def _carries_readable(msg: OutboundMessage) -> bool:
    """Whether an agent message holds something the user can be shown: text, files, choices, rich content."""
    return bool(msg.text or msg.attachments or msg.quick_replies or msg.rich.data)


def _carries_anything(msg: OutboundMessage) -> bool:
    """Whether an agent message carries anything: what the user can be shown, or content entries
    of which nothing could be shown (rich.unknown and the like), which are then said, not dropped."""
    return _carries_readable(msg) or bool(msg.rich.unknown or msg.content_entries)
