"""Handover starts in flight, recorded before Genesys is called so that a crash leaves no orphan.

A start writes its intent (connection, session, later the Genesys conversation id) and the
BY_USER index before the first inbound message, and drops the intent once the session with the
handover is stored. An intent still there after that means the start never committed: the process
died or the commit failed. Recovery then disconnects the conversation it had opened.

If the process dies after Genesys created the conversation but before its answer arrived, the
conversation id is unknown. No Genesys API documents a lookup of a conversation by `channel.from.id`;
only another inbound message from the same id (Genesys keeps one open conversation per id) with
`prefetchConversationId=true` would name it, and that would create a conversation when there is
none and put a message in front of an agent. Recovery does not probe. Instead the record is kept
(UNNAMED_KEEP_SECONDS) and the session's next handover reuses its Genesys user id: Genesys keeps one
open conversation per user id, so that handover continues the interrupted one when it exists, and
starts a fresh one when it does not. Any uncommitted start of the session is reused the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from ...store import Store
from .connection import GenesysConnection
from .disconnects import disconnect_customer
from .state import BY_CONVERSATION, BY_USER, STARTING, HandoverState

log = logging.getLogger("extension.providers.genesys_om.start_intents")

# How long an interrupted start whose conversation Genesys never named waits for its session's
# next handover to reuse its user id (and so its conversation, if one was created).
UNNAMED_KEEP_SECONDS = 86400.0


@dataclass
class StartIntent:
    """What recovery needs to undo a start that never committed."""

    connection: str
    session: str  # the session key id
    at: float
    conversation_id: str | None = None
    noted: bool = False  # the unnamed-conversation warning was logged

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str) -> StartIntent | None:
        try:
            values = json.loads(raw)
            return cls(connection=str(values["connection"]), session=str(values["session"]),
                       at=float(values["at"]), conversation_id=values.get("conversation_id") or None,
                       noted=bool(values.get("noted")))
        except (ValueError, TypeError, KeyError):
            return None


async def reusable_user_id(store: Store, session: str) -> str | None:
    """The Genesys user id of an uncommitted start of this session, if any (called under its lock)."""
    for user_id, raw in sorted((await store.index_items(STARTING)).items()):
        intent = StartIntent.decode(raw)
        if intent is not None and intent.session == session:
            return user_id
    return None


async def begin(store: Store, user_id: str, connection: str, session: str, at: float) -> StartIntent:
    """Record the intent (made at wall time `at`), then map the Genesys user id to the session
    (before anything is sent)."""
    intent = StartIntent(connection, session, at)
    await store.index_set(STARTING, user_id, intent.encode())
    # Written now, not after the commit: a "Connected" or an early agent message may arrive while
    # the transcript is still being sent; its delivery waits on the session lock and then finds
    # the committed handover.
    await store.index_set(BY_USER, user_id, session)
    return intent


async def opened(store: Store, user_id: str, intent: StartIntent, conversation_id: str) -> None:
    """Add the Genesys conversation id to the intent, so recovery can disconnect it."""
    intent.conversation_id = conversation_id
    await store.index_set(STARTING, user_id, intent.encode())


async def committed(store: Store, user_id: str) -> None:
    """The session with the handover is stored: the intent is fulfilled."""
    await store.index_delete(STARTING, user_id)


async def abandon(store: Store, user_id: str, conversation_id: str | None) -> None:
    """Drop every record of a start that failed (its conversation, if any, was dealt with)."""
    await store.index_delete(BY_USER, user_id)
    if conversation_id:
        await store.index_delete(BY_CONVERSATION, conversation_id)
    await store.index_delete(STARTING, user_id)


async def recover(store: Store, connections: Mapping[str, GenesysConnection], min_age: float, now: float) -> int:
    """Undo the starts older than `min_age` seconds at wall time `now` that never committed; returns
    how many."""
    undone = 0
    for user_id, raw in sorted((await store.index_items(STARTING)).items()):
        intent = StartIntent.decode(raw)
        if intent is None:
            log.warning("unreadable handover start record for Genesys user %s dropped", user_id)
            await store.index_delete(STARTING, user_id)
            continue
        if now - intent.at < min_age:
            continue
        # Under the session lock: a start still running holds it, so it finishes first.
        async with store.lock(intent.session):
            doc = await store.get_session(intent.session)
            state = HandoverState.from_doc(doc.get("handover") if doc else None)
            if state is not None and state.genesys_user_id == user_id:
                await committed(store, user_id)  # stored; only the clean-up after it was lost
                continue
            if await store.index_get(STARTING, user_id) is None:
                continue  # finished meanwhile
            if intent.conversation_id is None and now - intent.at < UNNAMED_KEEP_SECONDS:
                if not intent.noted:
                    log.warning("a handover start for Genesys user %s was interrupted before Genesys named "
                                "its conversation; the session's next handover continues it, if one was "
                                "created", user_id)
                    intent.noted = True
                    await store.index_set(STARTING, user_id, intent.encode())
                continue
            await _undo(store, connections, user_id, intent)
        undone += 1
    return undone


async def _undo(store: Store, connections: Mapping[str, GenesysConnection], user_id: str,
                intent: StartIntent) -> None:
    conn = connections.get(intent.connection)
    if intent.conversation_id is None:
        log.warning("a handover start for Genesys user %s was interrupted before Genesys named its "
                    "conversation; if one was created, it cannot be found and must be ended in Genesys",
                    user_id)
    elif conn is None:
        log.warning("conversation %s of an interrupted handover start is left: connection %r is no longer "
                    "configured", intent.conversation_id, intent.connection)
    else:
        log.info("conversation %s belongs to a handover start that never completed; disconnecting it",
                 intent.conversation_id)
        await disconnect_customer(store, conn, intent.conversation_id, "interrupted handover start")
    cid = intent.conversation_id
    # Only this start's entries: a later handover of the session may own the same keys by now.
    if await store.index_get(BY_USER, user_id) == intent.session:
        await store.index_delete(BY_USER, user_id)
    if cid and await store.index_get(BY_CONVERSATION, cid) == intent.session:
        await store.index_delete(BY_CONVERSATION, cid)
    await store.index_delete(STARTING, user_id)
