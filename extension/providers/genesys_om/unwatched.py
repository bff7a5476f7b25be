"""Handovers no notification watches: the reconciler of any replica checks them more often."""

from __future__ import annotations

import logging
from collections import defaultdict

from ...metrics import Gauge
from ...store import Store, StoreError

log = logging.getLogger("extension.providers.genesys_om.unwatched")

# Conversation id -> its connection, for every handover whose end no notification would report.
UNWATCHED = "om:unwatched"

# Why a handover is not watched.
NO_PERMISSION = "permission"  # Genesys refused its topics: the OAuth client lacks a permission
NO_CHANNEL = "capacity"  # every channel is full and no other may be created


class Unwatched:
    """Kept in the store, so the replica running the reconciler knows them; counted in /metrics."""

    def __init__(self, store: Store, gauge: Gauge) -> None:
        self.store = store
        self.gauge = gauge
        self._held: dict[tuple[str, str], set[str]] = defaultdict(set)

    async def mark(self, connection: str, conversation_id: str, reason: str) -> None:
        self._held[(connection, reason)].add(conversation_id)
        self._count(connection, reason)
        try:
            await self.store.index_set(UNWATCHED, conversation_id, connection)
        except StoreError as exc:  # the reconciler's regular pass still covers it
            log.warning("could not record unwatched handover %s: %s", conversation_id, exc)

    async def clear(self, connection: str, conversation_id: str) -> None:
        found = False
        for (name, reason), held in self._held.items():
            if name == connection and conversation_id in held:
                held.discard(conversation_id)
                self._count(name, reason)
                found = True
        if not found:
            return
        try:
            await self.store.index_delete(UNWATCHED, conversation_id)
        except StoreError as exc:  # the reconciler drops entries whose handover is gone
            log.info("could not clear unwatched handover %s: %s", conversation_id, exc)

    async def take_over(self, connection: str) -> None:
        """This replica now runs the connection's notifications: drop what its previous holder marked.

        The re-sync that follows marks again whatever is still unwatched.
        """
        try:
            for cid, name in (await self.store.index_items(UNWATCHED)).items():
                if name == connection:
                    await self.store.index_delete(UNWATCHED, cid)
        except StoreError as exc:  # left for the reconciler, which drops entries of ended handovers
            log.info("could not drop the unwatched handovers of %s: %s", connection, exc)

    def forget(self, connection: str) -> None:
        """This replica no longer runs the connection's notifications (its next holder re-marks)."""
        for (name, reason), held in self._held.items():
            if name == connection:
                held.clear()
                self._count(name, reason)

    def _count(self, connection: str, reason: str) -> None:
        self.gauge.set(len(self._held[(connection, reason)]), connection=connection, reason=reason)
