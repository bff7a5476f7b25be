"""Finding 7: reading the event log of ids nobody wrote leaves nothing behind, in every store."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from extension.store import MemoryStore, SqliteStore, Store, store_from_url

from redis_server import delete_prefix, new_prefix, redis_url, require_redis
from support import eventually

READS = 2000


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    prefix = new_prefix()
    if request.param == "redis":
        require_redis()
        s = store_from_url(redis_url(prefix))
    else:
        s = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "s.db")
    await s.open()
    try:
        yield s
    finally:
        try:
            await s.close()
        finally:
            if request.param == "redis":
                await delete_prefix(prefix)


async def test_reads_of_unknown_ids_keep_no_per_id_state(store: Store) -> None:
    for i in range(READS):
        assert await store.read_events(f"unknown-{i}", 0) == []
    assert store.per_key_entries() == 0


async def test_waiting_reads_of_unknown_ids_keep_no_per_id_state_once_answered(store: Store) -> None:
    # Readers that wait (the long-poll and the socket) hold a waiter while they wait, not after.
    answers = await asyncio.gather(*(store.read_events(f"gone-{i}", 0, wait=0.05) for i in range(200)))
    assert answers == [[]] * 200
    assert store.per_key_entries() == 0


async def test_a_waiting_reader_is_counted_while_it_waits_and_woken_by_a_commit(store: Store) -> None:
    reader = asyncio.create_task(store.read_events("k", 0, wait=20))
    await eventually(store.per_key_entries, "the waiting reader counted")
    assert store.per_key_entries() > 0
    await store.commit("k", None, [{"n": 1}])
    assert [e["n"] for e in await reader] == [1]
    assert store.per_key_entries() == 0


async def test_reads_of_unknown_ids_do_not_grow_memory() -> None:
    store = MemoryStore()
    await store.open()
    for i in range(200):  # warm up caches the interpreter keeps anyway
        await store.read_events(f"warm-{i}", 0, wait=0.001)
    gc.collect()
    tracemalloc.start()
    # What the store's own code keeps: other work of the process (threads of earlier tests, the
    # interpreter's caches) must not count.
    mine = [tracemalloc.Filter(True, "*/extension/store/*")]
    try:
        before = tracemalloc.take_snapshot().filter_traces(mine)
        for i in range(READS):
            await store.read_events(f"new-{i}", 0)
        for i in range(200):
            await store.read_events(f"new-wait-{i}", 0, wait=0.001)
        gc.collect()
        after = tracemalloc.take_snapshot().filter_traces(mine)
        grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    finally:
        tracemalloc.stop()
    # 1.5 KB per id before the fix would be about 3 MB here; nothing per id stays now.
    assert grown < 64 * 1024, grown


async def test_index_setdefault_keeps_the_first_value(store: Store) -> None:
    assert await store.index_setdefault("ns", "k", "first") == "first"
    assert await store.index_setdefault("ns", "k", "second") == "first"
    assert await store.index_get("ns", "k") == "first"
