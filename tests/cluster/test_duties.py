"""Cluster duties of two replicas on one Redis: one leader, nudges, take-over, and the watched set."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from extension.flows.session import Session, SessionKey
from extension.providers.genesys_om.cluster import ClusterDuties
from extension.providers.genesys_om.state import BY_CONVERSATION, HandoverState
from extension.providers.genesys_om.watching import NotificationsWatcher
from extension.store import MemoryStore, Store, store_from_url
from extension.tasks import BackgroundTasks

from redis_server import delete_prefix, new_prefix, redis_url, require_redis
from support import eventually

LEASE = 0.4


class RecordingWatcher(NotificationsWatcher):
    """The notifications side without Genesys: remembers what it was told to watch."""

    def __init__(self) -> None:
        super().__init__({"support": None})  # type: ignore[dict-item]
        self.watched: set[str] = set()
        self.released = 0

    async def watch(self, connection: str, conversation_id: str) -> None:
        self.watched.add(conversation_id)

    async def unwatch(self, connection: str, conversation_id: str) -> None:
        self.watched.discard(conversation_id)

    def watching(self, connection: str) -> set[str]:
        return set(self.watched)

    async def release(self, connection: str) -> None:
        self.released += 1
        self.watched.clear()


async def start_handover(store: Store, cid: str) -> None:
    key = SessionKey("support-bot", f"user-{cid}", "s")
    session = Session(key)
    session.handover = HandoverState(connection="support", genesys_user_id=f"h-{cid}", conversation_id=cid,
                                     integration_id="i", queue_id="q", queue_name="Support").to_doc()
    await store.index_set(BY_CONVERSATION, cid, key.id)
    await store.commit(key.id, session.to_doc(), [])


@pytest.fixture
async def replicas() -> AsyncIterator[list[tuple[Store, RecordingWatcher, ClusterDuties]]]:
    require_redis()
    prefix = new_prefix()
    made: list[tuple[Store, RecordingWatcher, ClusterDuties]] = []
    try:
        for _ in range(2):
            store = store_from_url(redis_url(prefix))
            await store.open()
            watcher = RecordingWatcher()
            duties = ClusterDuties(watcher, store.coordination(), store, LEASE, BackgroundTasks("t"))
            made.append((store, watcher, duties))
        yield made
    finally:
        for store, _, duties in made:
            with contextlib.suppress(Exception):
                await duties.stop()
            with contextlib.suppress(Exception):
                await store.close()
        await delete_prefix(prefix)


async def test_one_leader_nudged_by_the_other_then_replaced_when_it_dies(
        replicas: list[tuple[Store, RecordingWatcher, ClusterDuties]]) -> None:
    (store_a, watcher_a, a), (store_b, watcher_b, b) = replicas
    await start_handover(store_a, "c0")
    await a.start()
    await b.start()
    assert a.leads("notifications:support") and a.leads_reconciler()
    assert not b.leads("notifications:support") and not b.leads_reconciler()
    assert watcher_a.watched == {"c0"} and watcher_b.watched == set()
    # A handover started on B: B only nudges, A subscribes it.
    await start_handover(store_b, "c1")
    await b.watch("support", "c1")
    await eventually(lambda: "c1" in watcher_a.watched, "the holder subscribed the nudged handover", within=LEASE)
    assert watcher_b.watched == set()
    # A dies without a word: its lease runs out and B takes every job over.
    assert a._task is not None
    a._task.cancel()
    await eventually(lambda: b.leads("notifications:support") and b.leads_reconciler(), "B took over", within=5)
    await eventually(lambda: watcher_b.watched == {"c0", "c1"}, "B subscribed every handover of the index", within=2)
    # An ended handover leaves the index; the holder drops its subscription.
    await store_a.index_delete(BY_CONVERSATION, "c0")
    await eventually(lambda: watcher_b.watched == {"c1"}, "B unsubscribed the ended handover", within=2)


async def test_a_stopped_replica_hands_its_jobs_over_at_once(
        replicas: list[tuple[Store, RecordingWatcher, ClusterDuties]]) -> None:
    (_, _, a), (_, watcher_b, b) = replicas
    await a.start()
    await b.start()
    await a.stop()  # released, not expired: B takes over on its next pass
    await eventually(lambda: b.leads_reconciler(), "B took over", within=b.tick * 3)


async def test_a_lost_lease_closes_the_channels() -> None:
    watcher = RecordingWatcher()
    store = MemoryStore()
    duties = ClusterDuties(watcher, store.coordination(), store, LEASE, BackgroundTasks("t"))
    await start_handover(store, "c0")
    await duties.start()
    assert watcher.watched == {"c0"}
    # This replica's loop stalled past its lease, and another replica holds it now.
    duties._until["notifications:support"] = 0.0
    duties.coordination.acquire = _refuse  # type: ignore[method-assign]
    await eventually(lambda: watcher.released == 1, "channels closed", within=2)
    assert watcher.watched == set()
    await duties.stop()


async def _refuse(name: str, ttl: float) -> bool:
    await asyncio.sleep(0)
    return False
