"""Customer disconnects Genesys has not confirmed yet: kept in the store and retried until it does.

A conversation left queued in Genesys after the handover ended here would reach an agent who then
talks to nobody, so a failed disconnect is never just logged. Only a refusal (a 4xx that no retry
changes) stops the retries: that is logged once, and the conversation stays open in Genesys for
its agent to end. Unconfirmed: no Genesys document says that PATCHing the customer participant
of an Open Messaging conversation ends it; an organisation may refuse it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ...genesys import GenesysClientError, GenesysError
from ...store import Store
from .connection import GenesysConnection
from .state import PENDING_DISCONNECT

log = logging.getLogger("extension.providers.genesys_om.disconnects")

# 4xx answers that a retry may still change: the conversation is gone (done), or a request timeout.
_NOT_REFUSALS = (404, 408)


def refused(exc: GenesysError) -> bool:
    """True when Genesys refuses the disconnect for good (400, 403, 405, 409, 422, ...)."""
    return isinstance(exc, GenesysClientError) and exc.status not in _NOT_REFUSALS


async def try_disconnect(conn: GenesysConnection, conversation_id: str, why: str) -> GenesysError | None:
    """One try; None when Genesys has no connected customer left or refuses for good (logged once).

    Otherwise the error, worth retrying later.
    """
    try:
        await conn.client.disconnect_customer(conversation_id)
    except GenesysError as exc:
        if exc.status == 404:  # a conversation Genesys no longer has is ended already
            return None
        if refused(exc):
            log_refusal(conn, conversation_id, why, exc)
            return None
        return exc
    return None


def log_refusal(conn: GenesysConnection, conversation_id: str, why: str, exc: GenesysError) -> None:
    """The one log line of a refused disconnect, with what Genesys said and how to trace it."""
    hint = (" (the OAuth client's role may lack conversation:communication:disconnect)"
            if exc.status == 403 else "")
    log.error(
        "%s: Genesys refused to disconnect the customer of conversation %s on connection %s "
        "(HTTP %s, code %s, correlation id %s, contextId %s: %s)%s; not retried. The user has left; "
        "the conversation stays open in Genesys until its agent ends it",
        why, conversation_id, conn.name, exc.status, exc.code or "-", exc.correlation_id or "-",
        exc.context_id or "-", exc.message, hint)


async def disconnect_customer(store: Store, conn: GenesysConnection, conversation_id: str, why: str) -> bool:
    """Disconnect the customer now; if Genesys fails, record it for retries. True when settled."""
    failure = await try_disconnect(conn, conversation_id, why)
    if failure is None:
        return True
    log.warning("%s: the customer of conversation %s is not disconnected in Genesys yet (%s); "
                "retrying until it is", why, conversation_id, failure)
    await store.index_set(PENDING_DISCONNECT, conversation_id, conn.name)
    return False


async def retry_pending(store: Store, connections: Mapping[str, GenesysConnection]) -> int:
    """One try for every pending disconnect; returns how many were settled (done or refused)."""
    done = 0
    for conversation_id, name in sorted((await store.index_items(PENDING_DISCONNECT)).items()):
        conn = connections.get(name)
        if conn is None:
            log.warning("pending disconnect of conversation %s dropped: connection %r is no longer configured",
                        conversation_id, name)
            await store.index_delete(PENDING_DISCONNECT, conversation_id)
            continue
        failure = await try_disconnect(conn, conversation_id, "retried disconnect")
        if failure is not None:
            log.info("conversation %s: customer disconnect still failing: %s", conversation_id, failure)
            continue
        await store.index_delete(PENDING_DISCONNECT, conversation_id)
        log.info("conversation %s: customer disconnect settled after retries", conversation_id)
        done += 1
    return done
