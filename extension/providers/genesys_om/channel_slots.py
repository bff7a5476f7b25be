"""The notifications channels one OAuth client may hold, counted across replicas and connections.

Genesys does not refuse a 21st channel (docs/GENESYS_NOTES.md, notifications): it silently
removes the client's channel with the oldest last use (those without an active connection
first), whose events then stop. So a channel is only created with a slot: one of MAX_CHANNELS
leases named after the OAuth client, held while the channel is in use. Replicas on one shared
store, and connections sharing an OAuth client, take their slots from the same set; a dead
replica's slots expire with its leases (its channels, no longer connected, are the ones Genesys
removes first).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

from ...clock import SYSTEM_CLOCK, Clock
from ...repeating import RepeatedFailure
from ...stopping import cancel_and_wait
from ...store import Coordination

log = logging.getLogger("extension.providers.genesys_om.notifications")

MAX_CHANNELS = 20
# After finding every slot taken, ask again only this much later (or once this replica gave one back):
# each new handover while all are full would otherwise cost a lease request per slot.
FULL_RECHECK_SECONDS = 2.0


def client_key(api_base: str, client_id: str) -> str:
    """A stable name for one OAuth client of one region (the client id itself is not shown)."""
    return hashlib.sha256(f"{api_base}\n{client_id}".encode()).hexdigest()[:16]


class ChannelSlots:
    """Leases `channels:<client>:<n>`; each live channel of this replica holds one."""

    def __init__(self, coordination: Coordination, key: str, lease_seconds: float, limit: int | None = None, *,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.coordination = coordination
        self.clock = clock
        self.key = key
        self.lease_seconds = lease_seconds
        self.limit = MAX_CHANNELS if limit is None else limit
        self._held: set[str] = set()
        self._renewals = RepeatedFailure(log, "renewing notifications channel slots", level=logging.WARNING)
        self._task: asyncio.Task[None] | None = None
        self._full_at: float | None = None

    @property
    def held(self) -> int:
        return len(self._held)

    async def take(self) -> str | None:
        """A free slot (now held by this replica), or None when all are in use."""
        if self._full_at is not None and self.clock.monotonic() - self._full_at < FULL_RECHECK_SECONDS:
            return None
        for number in range(self.limit):
            name = f"channels:{self.key}:{number}"
            if name in self._held:
                continue
            try:
                taken = await self.coordination.acquire(name, self.lease_seconds)
            except Exception as exc:  # unknown: better no channel than one that may evict a live one
                log.warning("could not take a notifications channel slot: %s", exc)
                return None
            if taken:
                self._held.add(name)
                self._full_at = None
                self._keep_renewing()
                return name
        self._full_at = self.clock.monotonic()
        return None

    async def give(self, name: str | None) -> None:
        """The channel of this slot is no longer used."""
        if name is None or name not in self._held:
            return
        self._held.discard(name)
        self._full_at = None
        try:
            await self.coordination.release(name)
        except Exception as exc:  # it expires by itself
            log.info("notifications channel slot not released: %s", exc)

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        for name in list(self._held):
            await self.give(name)

    def _keep_renewing(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._renew(), name=f"channel-slots-{self.key}")

    async def _renew(self) -> None:
        while self._held:
            await self.clock.sleep(self.lease_seconds / 3)
            for name in list(self._held):
                try:
                    # Taken again if it lapsed and nobody else took it meanwhile.
                    kept = await self.coordination.acquire(name, self.lease_seconds)
                except Exception as exc:
                    self._renewals.failed(exc)
                    continue
                self._renewals.succeeded()
                if not kept and name in self._held:
                    log.error("a notifications channel slot was taken over by another replica (this one stalled "
                              "past %.1f s): the OAuth client may now hold more than %d channels, and Genesys "
                              "removes the oldest", self.lease_seconds, self.limit)
                    self._held.discard(name)
