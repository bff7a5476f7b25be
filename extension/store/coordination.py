"""Cluster coordination: leases for the jobs one replica does, and nudges between replicas."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from ..clock import SYSTEM_CLOCK, Clock
from ..repeating import RepeatedFailure
from ..stopping import cancel_and_wait

log = logging.getLogger("extension.store.coordination")

# A nudge callback gets the message; it must not block (it schedules work if it needs any).
Listener = Callable[[str], None]


class Lease:
    """A lease held by this replica while a `holding` block runs; `held` turns False if it is lost."""

    def __init__(self, name: str, held: bool) -> None:
        self.name = name
        self.held = held
        self.expires = 0.0  # monotonic time it lapses unless renewed


class Coordination(ABC):
    """Who does the cluster-wide jobs, and how replicas wake each other up.

    A lease is named (`notifications:support`, `outbox:<session>`), held by one replica at a time
    and expires `ttl` seconds after its last renewal, so a dead holder is replaced without help.
    """

    def __init__(self, replica: str) -> None:
        self.replica = replica
        self._listeners: dict[str, list[Listener]] = {}

    @abstractmethod
    async def acquire(self, name: str, ttl: float) -> bool:
        """Take the lease, or extend it when this replica holds it; False when another does."""

    @abstractmethod
    async def renew(self, name: str, ttl: float) -> bool:
        """Extend a lease this replica holds; False when it was lost (never re-taken here)."""

    @abstractmethod
    async def release(self, name: str) -> None:
        """Give the lease up (only if this replica holds it)."""

    @abstractmethod
    async def holder(self, name: str) -> str | None:
        """The replica holding the lease, or None."""

    @abstractmethod
    async def publish(self, topic: str, message: str) -> None:
        """Tell every replica (this one included) about `message` on `topic`."""

    def subscribe(self, topic: str, listener: Listener) -> None:
        self._listeners.setdefault(topic, []).append(listener)

    def dispatch(self, topic: str, message: str) -> None:
        for listener in self._listeners.get(topic, []):
            try:
                listener(message)
            except Exception:
                log.exception("listener of %s failed", topic)

    @asynccontextmanager
    async def holding(self, name: str, ttl: float, clock: Clock = SYSTEM_CLOCK) -> AsyncIterator[Lease]:
        """Try the lease once; while the block runs it is renewed (every ttl/3 on `clock`), and
        released at the end."""
        asked_at = clock.monotonic()
        lease = Lease(name, await self.acquire(name, ttl))
        lease.expires = asked_at + ttl
        if not lease.held:
            yield lease
            return
        keeper = asyncio.create_task(self._keep(lease, ttl, clock), name=f"lease-{name}")
        try:
            yield lease
        finally:
            await cancel_and_wait(keeper)
            lease.held = False
            try:
                await self.release(name)
            except Exception as exc:  # it expires by itself; a failed release only delays the next holder
                log.warning("could not release lease %s: %s", name, exc)

    async def _keep(self, lease: Lease, ttl: float, clock: Clock) -> None:
        renewals = RepeatedFailure(log, f"renewing lease {lease.name}", level=logging.WARNING)
        while lease.held:
            await clock.sleep(ttl / 3)
            asked_at = clock.monotonic()
            try:
                lease.held = await self.renew(lease.name, ttl)
            except Exception as exc:
                # Unrenewed, it is ours only until it would expire: then another replica may take it.
                lease.held = clock.monotonic() < lease.expires
                renewals.failed(exc)
                continue
            renewals.succeeded()
            if lease.held:
                lease.expires = asked_at + ttl
            else:
                log.error("lease %s was lost (its holder stalled longer than %.1f s)", lease.name, ttl)


class LocalCoordination(Coordination):
    """One process is the whole cluster: this replica holds every lease it asks for."""

    def __init__(self) -> None:
        super().__init__("local")
        self._held: set[str] = set()

    async def acquire(self, name: str, ttl: float) -> bool:
        self._held.add(name)
        return True

    async def renew(self, name: str, ttl: float) -> bool:
        return name in self._held

    async def release(self, name: str) -> None:
        self._held.discard(name)

    async def holder(self, name: str) -> str | None:
        return self.replica if name in self._held else None

    async def publish(self, topic: str, message: str) -> None:
        self.dispatch(topic, message)
