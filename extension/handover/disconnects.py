"""Customer disconnects Genesys has not confirmed yet: kept in the store and retried until it does.

A conversation left queued in Genesys after the handover ended here would reach an agent who then
talks to nobody, so a failed disconnect is never just logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ..genesys import GenesysError
from ..store import Store
from .connection import GenesysConnection
from .state import PENDING_DISCONNECT

log = logging.getLogger("extension.handover.disconnects")


async def disconnect_customer(store: Store, conn: GenesysConnection, conversation_id: str, why: str) -> bool:
    """Disconnect the customer now; if Genesys fails, record it for retries. True when done."""
    try:
        await conn.client.disconnect_customer(conversation_id)
    except GenesysError as exc:
        if exc.status == 404:  # a conversation Genesys no longer has is ended already
            return True
        log.warning("%s: the customer of conversation %s is not disconnected in Genesys yet (%s); "
                    "retrying until it is", why, conversation_id, exc)
        await store.index_set(PENDING_DISCONNECT, conversation_id, conn.name)
        return False
    return True


async def retry_pending(store: Store, connections: Mapping[str, GenesysConnection]) -> int:
    """One try for every pending disconnect; returns how many Genesys confirmed (2xx or 404)."""
    done = 0
    for conversation_id, name in sorted((await store.index_items(PENDING_DISCONNECT)).items()):
        conn = connections.get(name)
        if conn is None:
            log.warning("pending disconnect of conversation %s dropped: connection %r is no longer configured",
                        conversation_id, name)
            await store.index_delete(PENDING_DISCONNECT, conversation_id)
            continue
        try:
            await conn.client.disconnect_customer(conversation_id)
        except GenesysError as exc:
            if exc.status != 404:
                log.info("conversation %s: customer disconnect still failing: %s", conversation_id, exc)
                continue
        await store.index_delete(PENDING_DISCONNECT, conversation_id)
        log.info("conversation %s: customer disconnected in Genesys after retries", conversation_id)
        done += 1
    return done
