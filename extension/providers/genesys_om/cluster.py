"""Jobs one replica does for the whole cluster: the notifications channels and the reconciler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ...clock import SYSTEM_CLOCK, Clock
from ...repeating import RepeatedFailure
from ...stopping import cancel_and_wait
from ...store import Coordination, Store
from ...tasks import BackgroundTasks
from .followers import Followers
from .state import BY_CONVERSATION, HandoverState
from .watching import NotificationsWatcher

log = logging.getLogger("extension.providers.genesys_om.cluster")

RECONCILER = "reconciler"
WATCH_TOPIC = "om.watch"
RESYNC_SLICE = 2000


def notifications_duty(connection: str) -> str:
    return f"notifications:{connection}"


class ClusterDuties:
    """Holds the leases of cluster-wide jobs and keeps the notifications subscriptions in step.

    One replica per connection holds its notifications lease and subscribes every handover of
    the `om:conv` index; the others only nudge it when they start or end a handover. With the
    in-process coordination (memory, SQLite) this replica holds every lease.
    """

    def __init__(self, watcher: NotificationsWatcher, coordination: Coordination, store: Store,
                 lease_seconds: float, background: BackgroundTasks, *, followers: Followers | None = None,
                 on_reconciler: Callable[[], Coroutine[Any, Any, Any]] | None = None,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.watcher = watcher
        self.clock = clock
        self.coordination = coordination
        self.store = store
        self.lease_seconds = lease_seconds
        # Renew well inside the lease; re-sync the watched set at least once a second.
        self.tick = min(1.0, lease_seconds / 3)
        self.background = background
        self._until: dict[str, float] = {}
        self._acting: set[str] = set()  # the duties whose jobs run here
        self._owner: dict[str, str] = {}  # conversation id -> its connection (saves session reads)
        self._dirty: set[str] = set()
        self._resyncing: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._failures = RepeatedFailure(log, "cluster duties pass")
        self._renewals: dict[str, RepeatedFailure] = {}
        # Run when this replica takes the reconciler over: resumes outboxes a dead replica left.
        self.on_reconciler = on_reconciler
        if followers is not None:
            # Only the notifications lease holder subscribes: the provider watches through here.
            followers.follow(started=self.watch, ended=self._ended)

    def leads(self, duty: str) -> bool:
        """True while this replica holds the lease of `duty` (by its own, conservative clock)."""
        return self._until.get(duty, 0.0) > self.clock.monotonic()

    def leads_reconciler(self) -> bool:
        return self.leads(RECONCILER)

    async def start(self) -> None:
        self.coordination.subscribe(WATCH_TOPIC, self._nudged)
        await self._pass()  # the store answered moments ago; on failure the next pass tries again
        self._task = asyncio.create_task(self._run(), name="cluster-duties")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
        # Hand the jobs over at once instead of letting the leases run out.
        for duty in list(self._acting):
            self._acting.discard(duty)
            self._until.pop(duty, None)
            try:
                await self.coordination.release(duty)
            except Exception as exc:
                log.info("lease %s not released (it expires by itself): %s", duty, exc)

    async def _run(self) -> None:
        while True:
            await self.clock.sleep(self.tick)
            await self._pass()

    async def _pass(self) -> None:
        try:
            await self._tick()
        except Exception as exc:
            self._failures.failed(exc)
        else:
            self._failures.succeeded()

    async def _tick(self) -> None:
        for connection in self.watcher.connections:
            duty = notifications_duty(connection)
            gained, lost = await self._lease(duty)
            if gained:
                log.info("this replica now runs the notifications channels of %s", connection)
                await self.watcher.take_over(connection)
            if lost:
                log.warning("this replica no longer holds the notifications lease of %s; closing its channels",
                            connection)
                await self.watcher.release(connection)
            if self.leads(duty):
                await self.resync(connection)
        gained, _ = await self._lease(RECONCILER)
        if gained:
            log.info("this replica now runs the reconciler")
            if self.on_reconciler is not None and self._task is not None:
                self.background.spawn(self.on_reconciler(), name="outbox-sweep")

    async def _lease(self, duty: str) -> tuple[bool, bool]:
        """Take or renew one lease; returns (gained, lost) against the jobs this replica runs."""
        asked_at = self.clock.monotonic()
        renewal = self._renewals.get(duty)
        if renewal is None:
            renewal = self._renewals[duty] = RepeatedFailure(log, f"renewing lease {duty}", level=logging.WARNING)
        try:
            held: bool | None = await self.coordination.acquire(duty, self.lease_seconds)
        except Exception as exc:
            # Keep the job until the lease would have expired: nobody else can hold it before then.
            renewal.failed(exc)
            held = None
        else:
            renewal.succeeded()
        if held:
            self._until[duty] = asked_at + self.lease_seconds
        elif held is False:
            self._until.pop(duty, None)
        # Against what runs, not what the last pass saw: a replica whose loop stalled past its
        # lease must still close the channels it had opened.
        if self.leads(duty):
            gained = duty not in self._acting
            self._acting.add(duty)
            return gained, False
        lost = duty in self._acting
        self._acting.discard(duty)
        return False, lost

    # The watcher interface the provider calls -------------------------------------------------
    async def watch(self, connection: str, conversation_id: str) -> None:
        if self.leads(notifications_duty(connection)):
            self._owner[conversation_id] = connection
            await self.watcher.watch(connection, conversation_id)
        else:
            await self._nudge(connection)

    async def unwatch(self, connection: str, conversation_id: str) -> None:
        self._owner.pop(conversation_id, None)
        if self.leads(notifications_duty(connection)):
            await self.watcher.unwatch(connection, conversation_id)
        else:
            await self._nudge(connection)

    def watching(self, connection: str) -> set[str]:
        return self.watcher.watching(connection)

    async def _ended(self, state: HandoverState) -> None:
        await self.unwatch(state.connection, state.conversation_id)

    async def _nudge(self, connection: str) -> None:
        try:
            await self.coordination.publish(WATCH_TOPIC, connection)
        except Exception as exc:  # the holder re-syncs within a second anyway
            log.info("could not nudge the notifications holder: %s", exc)

    def _nudged(self, connection: str) -> None:
        if self.leads(notifications_duty(connection)):
            self.background.spawn(self.resync(connection), name=f"resync-{connection}")

    # Keeping the subscriptions equal to the index ---------------------------------------------
    async def resync(self, connection: str) -> None:
        """Subscribe every handover of the connection in the index, drop the others (coalesced)."""
        self._dirty.add(connection)
        if connection in self._resyncing:
            return
        self._resyncing.add(connection)
        try:
            while connection in self._dirty:
                self._dirty.discard(connection)
                await self._resync_once(connection)
        finally:
            self._resyncing.discard(connection)

    async def _resync_once(self, connection: str) -> None:
        store = self.store
        index: dict[str, str] = await store.index_items(BY_CONVERSATION)
        for cid in list(self._owner):
            if cid not in index:
                del self._owner[cid]
        # Handovers waiting for room or refused by Genesys count as watched: they are placed when
        # room frees or a subscription is accepted again, not retried (and logged) at every pass.
        known = self.watcher.watching(connection) | self.watcher.unwatched(connection)
        gone = known - index.keys()
        for cid in gone:
            await self.watcher.unwatch(connection, cid)
        watched = known - gone
        for n, (cid, key_id) in enumerate(index.items()):
            if n % RESYNC_SLICE == RESYNC_SLICE - 1:
                # A long index (100,000 handovers) is walked in slices: events keep flowing meanwhile.
                await asyncio.sleep(0)
            if cid in watched:
                continue
            owner = self._owner.get(cid)
            if owner is None:
                doc = await store.get_session(key_id)
                state = HandoverState.from_doc(doc.get("handover") if doc else None)
                if state is None or state.conversation_id != cid:
                    continue  # not committed yet, or stale (the reconciler removes stale entries)
                owner = self._owner[cid] = state.connection
            if owner == connection and self.leads(notifications_duty(connection)):
                await self.watcher.watch(connection, cid)
