"""One conformance suite for every store backend (memory, SQLite, Redis), and SQLite's durability."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from extension.store import MemoryStore, SqliteStore, Store, StoreError, check_store_url, store_from_url
from extension.store.redis import RedisStore

from redis_server import delete_prefix, new_prefix, redis_url, require_redis


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


async def test_commit_assigns_increasing_seq_per_session(store: Store) -> None:
    first = await store.commit("k1", {"a": 1}, [{"type": "output", "text": "x"}, {"type": "output", "text": "y"}])
    assert [e["seq"] for e in first] == [1, 2]
    other = await store.commit("k2", None, [{"type": "output", "text": "z"}])
    assert other[0]["seq"] == 1
    more = await store.commit("k1", {"a": 2}, [{"type": "typing"}])
    assert more[0]["seq"] == 3
    assert await store.get_session("k1") == {"a": 2}
    assert await store.get_session("k2") is None


async def test_read_events_after(store: Store) -> None:
    await store.commit("k", None, [{"n": i} for i in range(5)])
    assert [e["n"] for e in await store.read_events("k", 2)] == [2, 3, 4]
    assert [e["seq"] for e in await store.read_events("k", 0, limit=2)] == [1, 2]
    assert await store.read_events("k", 5) == []
    assert await store.read_events("nobody", 0) == []


async def test_wait_wakes_on_commit(store: Store) -> None:
    reader = asyncio.create_task(store.read_events("k", 0, wait=5))
    await asyncio.sleep(0.01)
    assert not reader.done()
    await store.commit("k", None, [{"n": 1}])
    events = await asyncio.wait_for(reader, 1)
    assert events[0]["n"] == 1


async def test_wait_returns_empty_after_timeout(store: Store) -> None:
    assert await store.read_events("k", 0, wait=0.05) == []


async def test_returned_documents_are_copies(store: Store) -> None:
    await store.commit("k", {"ctx": {"a": 1}}, [])
    doc = await store.get_session("k")
    assert doc is not None
    doc["ctx"]["a"] = 99
    assert await store.get_session("k") == {"ctx": {"a": 1}}


async def test_claim_once_until_expiry(store: Store) -> None:
    assert await store.claim("dedup", "m1", ttl=60)
    assert not await store.claim("dedup", "m1", ttl=60)
    assert await store.claim("other", "m1", ttl=60)
    assert await store.claim("dedup", "short", ttl=0.01)
    await asyncio.sleep(0.03)
    assert await store.claim("dedup", "short", ttl=60)


async def test_claimed_tells_whether_a_claim_lives_without_claiming(store: Store) -> None:
    assert not await store.claimed("dedup", "m1")
    assert not await store.claimed("dedup", "m1")  # asking does not claim
    assert await store.claim("dedup", "m1", ttl=60)
    assert await store.claimed("dedup", "m1")
    assert not await store.claimed("other", "m1")
    assert await store.claim("dedup", "short", ttl=0.01)
    await asyncio.sleep(0.03)
    assert not await store.claimed("dedup", "short")


async def test_many_claims_with_long_expiry_stay_claimed(store: Store) -> None:
    # More than one sweep of expired claims: the live ones survive it.
    for n in range(1100):
        assert await store.claim("dedup", f"m{n}", ttl=3600)
    assert all([await store.claimed("dedup", f"m{n}") for n in (0, 500, 1099)])
    assert not await store.claim("dedup", "m0", ttl=3600)


async def test_a_long_log_keeps_its_newest_events_and_replays_them_exactly(store: Store) -> None:
    store.event_limit = 50
    for turn in range(40):
        await store.commit("k", {"turn": turn}, [{"n": turn * 10 + i} for i in range(10)])
    await store.commit("other", None, [{"n": 0}])
    kept = await store.read_events("k", 0, limit=1000)
    seqs = [e["seq"] for e in kept]
    # A contiguous tail ending at the newest event: exactly the limit, in every store.
    assert seqs == list(range(351, 401))
    assert [e["n"] for e in kept] == [s - 1 for s in seqs]
    # Replay after any seq of the kept part is exact, page by page.
    after = 400 - 30
    page = await store.read_events("k", after, limit=7)
    assert [e["seq"] for e in page] == list(range(after + 1, after + 8))
    assert await store.read_events("k", 400) == []
    # A reader further behind than what is kept starts at the oldest kept event.
    assert (await store.read_events("k", 3, limit=1))[0]["seq"] == seqs[0]
    # Numbering goes on after trimming; other sessions are untouched.
    assert [e["seq"] for e in await store.commit("k", None, [{"n": 400}])] == [401]
    assert [e["seq"] for e in await store.read_events("other", 0)] == [1]


async def test_a_lock_is_surely_free_only_when_nobody_holds_or_waits_for_it(store: Store) -> None:
    shared = isinstance(store, RedisStore)
    assert store.lock_surely_free("k1") is not shared
    async with store.lock("k1"):
        assert not store.lock_surely_free("k1")
        # Another session's lock is untouched (unless the lock is shared between replicas).
        assert store.lock_surely_free("k2") is not shared
    assert store.lock_surely_free("k1") is not shared


async def test_index(store: Store) -> None:
    await store.index_set("conv", "c1", "k1")
    await store.index_set("conv", "c2", "k2")
    await store.index_set("conv", "c1", "k3")
    assert await store.index_get("conv", "c1") == "k3"
    assert await store.index_items("conv") == {"c1": "k3", "c2": "k2"}
    await store.index_delete("conv", "c1")
    assert await store.index_get("conv", "c1") is None
    assert await store.index_items("nothing") == {}


async def test_index_set_many_writes_every_entry(store: Store) -> None:
    await store.index_set("inbox", "e0", "old")
    await store.index_set_many("inbox", {"e0": "new", "e1": "1"})
    await store.index_set_many("inbox", {})
    assert await store.index_items("inbox") == {"e0": "new", "e1": "1"}


async def test_index_delete_many_removes_exactly_the_keys_given(store: Store) -> None:
    for n in range(5):
        await store.index_set("inbox", f"e{n}", str(n))
    await store.index_set("other", "e1", "kept")
    await store.index_delete_many("inbox", ["e1", "e3", "missing"])
    assert await store.index_items("inbox") == {"e0": "0", "e2": "2", "e4": "4"}
    assert await store.index_get("other", "e1") == "kept"  # another index's key of the same name stays
    await store.index_delete_many("inbox", [])
    assert len(await store.index_items("inbox")) == 3


async def test_delete_session(store: Store) -> None:
    await store.commit("k", {"a": 1}, [{"n": 1}])
    await store.delete_session("k")
    assert await store.get_session("k") is None
    assert await store.read_events("k", 0) == []


async def test_ping(store: Store) -> None:
    assert await store.ping()


async def test_lock_serialises_one_key(store: Store) -> None:
    order: list[str] = []

    async def worker(name: str) -> None:
        async with store.lock("k"):
            order.append(f"{name}-in")
            await asyncio.sleep(0.01)
            order.append(f"{name}-out")

    await asyncio.gather(worker("a"), worker("b"))
    assert order in (["a-in", "a-out", "b-in", "b-out"], ["b-in", "b-out", "a-in", "a-out"])


async def test_locks_of_different_sessions_do_not_wait_for_each_other(store: Store) -> None:
    async with store.lock("k1"):
        await asyncio.wait_for(_enter_and_leave(store, "k2"), 2)


async def _enter_and_leave(store: Store, key: str) -> None:
    async with store.lock(key):
        pass


async def test_commit_refuses_a_turn_that_is_not_json_whole(store: Store) -> None:
    await store.commit("k", {"v": 1}, [{"n": 1}])
    with pytest.raises(TypeError):
        await store.commit("k", {"v": 2}, [{"n": 2}, {"n": object()}])
    assert await store.get_session("k") == {"v": 1}
    assert [e["n"] for e in await store.read_events("k", 0)] == [1]


async def test_claims_are_stored_with_their_turn_or_not_at_all(store: Store) -> None:
    await store.commit("k", {"v": 1}, [{"n": 1}], claims=[("webhook", "c:m1", 60), ("webhook", "c:m2", 0.05)])
    assert await store.claimed_many("webhook", ["c:m1", "c:m2", "c:m3"]) == {"c:m1", "c:m2"}
    assert await store.claimed_many("other", ["c:m1"]) == set() and await store.claimed_many("webhook", []) == set()
    assert not await store.claim("webhook", "c:m1", 60)  # a claim like any other
    await asyncio.sleep(0.1)
    assert await store.claimed_many("webhook", ["c:m1", "c:m2"]) == {"c:m1"}
    # A claim with a session-less, event-less commit, and none with a turn that was refused.
    await store.commit("k", None, [], claims=[("webhook", "c:m4", 60)])
    with pytest.raises(TypeError):
        await store.commit("k", {"v": 2}, [{"n": object()}], claims=[("webhook", "c:m5", 60)])
    assert await store.claimed_many("webhook", ["c:m4", "c:m5"]) == {"c:m4"}
    assert await store.get_session("k") == {"v": 1} and [e["n"] for e in await store.read_events("k", 0)] == [1]


async def test_replay_in_pages_keeps_order_and_seq(store: Store) -> None:
    for turn in range(10):
        await store.commit("k", {"turn": turn}, [{"n": turn * 3 + i} for i in range(3)])
    seen: list[int] = []
    after = 0
    while page := await store.read_events("k", after, limit=7):
        seen.extend(e["n"] for e in page)
        assert [e["seq"] for e in page] == list(range(after + 1, after + 1 + len(page)))
        after = page[-1]["seq"]
    assert seen == list(range(30))


async def test_seq_starts_again_after_delete(store: Store) -> None:
    await store.commit("k", None, [{"n": 1}, {"n": 2}])
    await store.delete_session("k")
    assert [e["seq"] for e in await store.commit("k", None, [{"n": 3}])] == [1]


async def test_reader_ahead_of_a_log_that_began_again_reads_it_from_the_start(store: Store) -> None:
    await store.commit("k", {"a": 1}, [{"n": i} for i in range(5)])
    await store.delete_session("k")
    reader = asyncio.create_task(store.read_events("k", 5, wait=5))
    await asyncio.sleep(0.02)
    assert not reader.done()
    await store.commit("k", {"a": 2}, [{"n": "new"}])
    events = await asyncio.wait_for(reader, 2)
    assert [(e["seq"], e["n"]) for e in events] == [(1, "new")]
    # A reader at the end of a live log still waits for what comes next.
    assert await store.read_events("k", 1, wait=0.05) == []


async def test_idle_sessions_oldest_first_and_gone_once_deleted(store: Store) -> None:
    for key in ("a", "b", "c"):
        await store.commit(key, {"k": key}, [])
        await asyncio.sleep(0.01)
    cut = time.time()
    await asyncio.sleep(0.01)
    await store.commit("d", {"k": "d"}, [])
    await store.commit("e", None, [{"n": 1}])  # events only: not a session
    assert await store.idle_sessions(cut, 10) == ["a", "b", "c"]
    assert await store.idle_sessions(cut, 2) == ["a", "b"]
    await store.commit("a", {"k": "a", "used": True}, [])  # used again: no longer idle
    await store.delete_session("b")
    assert await store.idle_sessions(cut, 10) == ["c"]
    assert await store.idle_sessions(time.time() + 1, 10) == ["c", "d", "a"]


async def test_coordination_lease_is_held_and_released(store: Store) -> None:
    coordination = store.coordination()
    assert store.coordination() is coordination
    assert await coordination.acquire("job", 5)
    assert await coordination.acquire("job", 5)  # the holder extends its own lease
    assert await coordination.holder("job") == coordination.replica
    assert await coordination.renew("job", 5)
    await coordination.release("job")
    assert await coordination.holder("job") is None
    assert not await coordination.renew("job", 5)


async def test_coordination_nudge_reaches_listeners(store: Store) -> None:
    coordination = store.coordination()
    got: asyncio.Queue[str] = asyncio.Queue()
    coordination.subscribe("watch", got.put_nowait)
    await coordination.publish("watch", "support")
    assert await asyncio.wait_for(got.get(), 2) == "support"


async def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    s1 = SqliteStore(path)
    await s1.open()
    await s1.commit("k", {"pointer": "w"}, [{"n": 1}, {"n": 2}])
    await s1.claim("dedup", "m", 60)
    await s1.index_set("conv", "c", "k")
    await s1.close()
    s2 = SqliteStore(path)
    await s2.open()
    assert await s2.get_session("k") == {"pointer": "w"}
    assert [e["seq"] for e in await s2.read_events("k", 0)] == [1, 2]
    assert not await s2.claim("dedup", "m", 60)
    assert await s2.index_get("conv", "c") == "k"
    assert s2.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    await s2.close()


async def test_sqlite_commit_is_atomic(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "a.db")
    await s.open()
    await s.commit("k", {"v": 1}, [{"n": 1}])
    with pytest.raises(TypeError):
        await s.commit("k", {"v": 2}, [{"n": object()}])  # not JSON: the whole turn is refused
    assert await s.get_session("k") == {"v": 1}
    assert len(await s.read_events("k", 0)) == 1
    await s.close()


async def test_expired_claims_are_swept_from_memory_and_sqlite(tmp_path: Path) -> None:
    memory, sqlite = MemoryStore(), SqliteStore(tmp_path / "claims.db")
    for s in (memory, sqlite):
        await s.open()
        for n in range(1000):
            await s.claim("typing", f"short-{n}", 0.01)
        await asyncio.sleep(0.03)
        for n in range(1000):
            await s.claim("webhook", f"long-{n}", 3600)
    # Webhook ids are claimed for a day: the expired claims must not pile up beside them.
    assert memory.claims_kept() == 1000
    assert sqlite.db.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 1000
    assert await sqlite.claimed("webhook", "long-0") and await memory.claimed("webhook", "long-0")
    await sqlite.close()


def test_store_urls(tmp_path: Path) -> None:
    assert isinstance(store_from_url("memory://"), MemoryStore)
    sqlite = store_from_url("sqlite:////tmp/x.db")
    assert isinstance(sqlite, SqliteStore) and sqlite.path == Path("/tmp/x.db")
    for bad in ("sqlite:///", "postgres://x", "redis://", "redis://h:6379/zero", "redis://h/1?pool=3",
                "redis://h/1?prefix=a%20b", "redis://h/1?lock_seconds=0", "redis://h:99999/1"):
        with pytest.raises(StoreError):
            store_from_url(bad)
    redis = store_from_url("redis://:hunter2-password@redis.internal:6380/2?prefix=acme&lock_seconds=4")
    assert "hunter2" not in repr(redis)
    assert repr(redis) == "RedisStore('redis.internal:6380/2', prefix='acme')"
    assert check_store_url("redis://h/1?lock_seconds=x") == "lock_seconds must be a number of seconds"
    assert "known: prefix, lock_seconds" in (check_store_url("redis://h/1?pool=3") or "")


async def test_unopenable_sqlite_path_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="cannot open SQLite store"):
        await SqliteStore(tmp_path / "file" / "sub" / "d.db").open()


@pytest.mark.parametrize("delay", [0.0, 0.05])
async def test_a_long_poll_cancelled_at_any_moment_ends_at_once(store: Store, delay: float) -> None:
    # Cancelled while its first read is in flight (or later, while it waits): a closed socket's
    # feed must not hold the process for the rest of its long-poll.
    await store.commit("k", None, [{"type": "output", "text": "x"}])
    reader = asyncio.create_task(store.read_events("k", 1, wait=10))
    await asyncio.sleep(delay)
    started = time.monotonic()
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert time.monotonic() - started < 2
