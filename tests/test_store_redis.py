"""Two Redis store instances on one Redis, as two replicas see it: wake-ups, locks, claims, leases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from extension.store import StoreError, store_from_url
from extension.store.redis import RedisStore

from redis_server import DB, delete_prefix, new_prefix, redis_url, require_redis
from support import eventually

LOCK_SECONDS = 0.3
Pair = tuple[RedisStore, RedisStore]


def redis_store(url: str) -> RedisStore:
    store = store_from_url(url)
    assert isinstance(store, RedisStore)
    return store


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    require_redis()
    prefix = new_prefix()
    a, b = (redis_store(redis_url(prefix, lock_seconds=LOCK_SECONDS)) for _ in range(2))
    try:
        await a.open()
        await b.open()
        yield a, b
    finally:
        try:
            await a.close()
            await b.close()
        finally:
            await delete_prefix(prefix)



async def test_a_commit_on_one_instance_wakes_a_reader_on_the_other(pair: Pair) -> None:
    a, b = pair
    await a.commit("k", None, [{"n": 0}])
    reader = asyncio.create_task(b.read_events("k", 1, wait=10))
    await asyncio.sleep(0.05)
    assert not reader.done()
    await a.commit("k", {"v": 1}, [{"n": 1}])
    # Far below the 10 s wait: the reader was woken, it did not time out.
    events = await asyncio.wait_for(reader, 5)
    assert [(e["seq"], e["n"]) for e in events] == [(2, 1)]


async def test_replay_from_another_instance(pair: Pair) -> None:
    a, b = pair
    await a.commit("k", {"v": 1}, [{"n": i} for i in range(5)])
    await b.commit("k", {"v": 2}, [{"n": 5}])
    assert [(e["seq"], e["n"]) for e in await a.read_events("k", 3)] == [(4, 3), (5, 4), (6, 5)]
    assert await a.get_session("k") == {"v": 2}


async def test_lock_excludes_the_other_instance_even_past_its_expiry(pair: Pair) -> None:
    a, b = pair
    order: list[str] = []
    a_inside = asyncio.Event()

    async def hold_a() -> None:
        async with a.lock("k"):
            order.append("a-in")
            a_inside.set()
            # Three lock lifetimes: a long Genesys call; the lock is extended, not lost.
            await asyncio.sleep(LOCK_SECONDS * 3)
            await a.commit("k", {"by": "a"}, [{"n": "a"}])
            order.append("a-out")

    async def enter_b() -> None:
        await a_inside.wait()
        async with b.lock("k"):
            order.append("b-in")
            await b.commit("k", {"by": "b"}, [{"n": "b"}])

    await asyncio.wait_for(asyncio.gather(hold_a(), enter_b()), 10)
    assert order == ["a-in", "a-out", "b-in"]
    assert [e["n"] for e in await b.read_events("k", 0)] == ["a", "b"]


async def test_a_turn_whose_lock_was_lost_is_not_stored(pair: Pair) -> None:
    a, b = pair
    await a.commit("k", {"v": 1}, [])
    async with a.lock("k"):
        # As if this process stalled past the expiry and the other replica took the session over.
        await a.redis.delete(a.k("lock", "k"))
        async with b.lock("k"):
            await b.commit("k", {"v": 2}, [{"n": "b"}])
        with pytest.raises(StoreError, match="lock expired"):
            await a.commit("k", {"v": 3}, [{"n": "a"}], claims=[("webhook", "c:a", 60)])
    assert await b.get_session("k") == {"v": 2}
    assert [e["n"] for e in await b.read_events("k", 0)] == ["b"]
    assert not await b.claimed("webhook", "c:a")  # the claims of a refused turn are not written either


async def test_claims_are_shared_and_expire(pair: Pair) -> None:
    a, b = pair
    assert await a.claim("dedup", "m1", ttl=0.2)
    assert not await b.claim("dedup", "m1", ttl=0.2)
    await eventually(lambda: b.claim("dedup", "m1", ttl=60))
    assert not await a.claim("dedup", "m1", ttl=60)
    ttl = await a.redis.pttl(a.k("claim:dedup", "m1"))
    assert 0 < ttl <= 60_000


async def test_index_is_shared(pair: Pair) -> None:
    a, b = pair
    await a.index_set("om:conv", "c1", "k1")
    assert await b.index_get("om:conv", "c1") == "k1"
    await b.index_delete("om:conv", "c1")
    assert await a.index_items("om:conv") == {}


async def test_lease_is_exclusive_and_taken_over_when_its_holder_stops_renewing(pair: Pair) -> None:
    a, b = pair
    ca, cb = a.coordination(), b.coordination()
    assert ca.replica != cb.replica
    assert await ca.acquire("notifications:support", 0.3)
    assert not await cb.acquire("notifications:support", 0.3)
    assert await cb.holder("notifications:support") == ca.replica
    # The holder "dies": nobody renews; the lease expires and the other replica takes it.
    await eventually(lambda: cb.acquire("notifications:support", 5))
    assert await ca.holder("notifications:support") == cb.replica
    assert not await ca.renew("notifications:support", 5)
    await ca.release("notifications:support")  # not its lease any more: nothing happens
    assert await cb.holder("notifications:support") == cb.replica


async def test_holding_renews_while_the_block_runs_then_hands_over(pair: Pair) -> None:
    a, b = pair
    ca, cb = a.coordination(), b.coordination()
    async with ca.holding("outbox:k", 0.3) as lease:
        assert lease.held
        for _ in range(5):
            await asyncio.sleep(0.2)
            assert not await cb.acquire("outbox:k", 0.3)
        assert lease.held
    assert await cb.acquire("outbox:k", 0.3)
    async with ca.holding("outbox:k", 0.3) as lease:
        assert not lease.held


async def test_nudge_reaches_the_other_instance(pair: Pair) -> None:
    a, b = pair
    got: asyncio.Queue[str] = asyncio.Queue()
    b.coordination().subscribe("watch", got.put_nowait)
    await a.coordination().publish("watch", "support")
    assert await asyncio.wait_for(got.get(), 5) == "support"


async def test_unreachable_redis_is_a_clear_error() -> None:
    store = store_from_url("redis://127.0.0.1:1/13")
    with pytest.raises(StoreError, match="cannot reach Redis at 127.0.0.1:1/13"):
        await store.open()
    assert not await store.ping()


async def test_readers_still_wake_after_the_pubsub_connection_is_cut(pair: Pair) -> None:
    a, b = pair
    # Only this test's own subscriber connections (named after its prefix), nobody else's.
    mine = await _subscribers(a)
    assert len(mine) == 2
    reader = asyncio.create_task(a.read_events("k", 0, wait=30))
    await asyncio.sleep(0.05)
    for client in mine:
        await a.redis.client_kill_filter(_id=client["id"])
    await b.commit("k", None, [{"n": 1}])
    events = await asyncio.wait_for(reader, 10)
    assert [e["n"] for e in events] == [1]
    # And the subscription is back: the next commit wakes a new reader too.
    reader = asyncio.create_task(a.read_events("k", 1, wait=30))
    await eventually(lambda: _resubscribed(a, {c["id"] for c in mine}))
    await b.commit("k", None, [{"n": 2}])
    assert [e["n"] for e in await asyncio.wait_for(reader, 10)] == [2]


async def _subscribers(store: RedisStore) -> list[dict[str, str]]:
    clients = await store.redis.client_list(_type="pubsub")
    return [c for c in clients if c.get("name", "").startswith(f"{store.prefix}:")]


async def _resubscribed(store: RedisStore, killed: set[str]) -> bool:
    return len({c["id"] for c in await _subscribers(store)} - killed) == 2


async def test_redis_failures_surface_as_store_errors() -> None:
    import redis.asyncio as aioredis

    from extension.store.redis_wire import RedisWire

    store = redis_store("redis://127.0.0.1:1/13")
    # As if Redis went away after start-up.
    store._redis = aioredis.Redis.from_url(store.options.client_url)
    store._control = aioredis.Redis.from_url(store.options.client_url)
    store._wire = RedisWire(store.options.client_url, name="test")
    try:
        with pytest.raises(StoreError, match="Redis failed: ConnectionError"):
            await store.get_session("k")
        with pytest.raises(StoreError, match="Redis failed"):
            await store.coordination().acquire("job", 1)
        with pytest.raises(StoreError, match="Redis failed"):
            async with store.lock("k"):
                pass
        with pytest.raises(StoreError, match="Redis failed: ConnectionError: cannot connect to Redis"):
            await store.claimed("ns", "k")
    finally:
        await store._wire.close()
        await store._redis.aclose()
        await store._control.aclose()


async def test_every_key_lives_under_the_prefix_in_the_test_database(pair: Pair) -> None:
    a, _ = pair
    await a.commit("k", {"v": 1}, [{"n": 1}])
    await a.claim("dedup", "m", 60)
    await a.index_set("om:conv", "c", "k")
    assert await a.coordination().acquire("job", 5)
    assert (await a.redis.client_info())["db"] in (DB, str(DB))
    keys = sorted([k async for k in a.redis.scan_iter(match=f"{a.prefix}:*")])
    assert keys == sorted(f"{a.prefix}:{rest}" for rest in ("s:k", "log:k", "z:updated", "claim:dedup:m",
                                                            "idx:om:conv", "lease:job"))
    await delete_prefix(a.prefix)
    assert [k async for k in a.redis.scan_iter(match=f"{a.prefix}:*")] == []


def test_without_redis_the_tests_skip_outside_ci_and_fail_inside(monkeypatch: pytest.MonkeyPatch) -> None:
    import redis_server

    monkeypatch.setattr(redis_server, "redis_answers", lambda: False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Redis server answers on 127.0.0.1:6379"):
        require_redis()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI needs Redis"):
        require_redis()


async def test_many_more_concurrent_turns_than_connections_all_succeed(pair: Pair) -> None:
    from extension.store.redis import POOL_CONNECTIONS

    a, b = pair
    sessions = 4 * POOL_CONNECTIONS

    async def turn(store: RedisStore, key: str, n: int) -> None:
        async with store.lock(key):
            doc = await store.get_session(key) or {"turns": 0}
            await store.commit(key, {"turns": doc["turns"] + 1}, [{"n": n}])

    # Each instance runs a turn of every session at once; both contend for each session's lock.
    await asyncio.wait_for(asyncio.gather(*(turn(store, f"k{n}", n) for n in range(sessions) for store in pair)), 60)
    for n in range(sessions):
        assert await a.get_session(f"k{n}") == {"turns": 2}
    for store in pair:
        pool: Any = store.redis.connection_pool
        assert pool.max_connections == POOL_CONNECTIONS
        assert len(pool._available_connections) + len(pool._in_use_connections) <= POOL_CONNECTIONS


async def test_leases_nudges_and_wake_ups_work_while_every_data_connection_is_busy(pair: Pair) -> None:
    a, b = pair
    pool: Any = a.redis.connection_pool
    pool.timeout = 0.2  # the wait for a free connection, shortened for the test
    taken = [await pool.get_connection() for _ in range(pool.max_connections)]
    try:
        with pytest.raises(StoreError, match="Redis failed: ConnectionError: No connection available"):
            await a.index_items("ns")
        # The hot path has connections of its own (redis_wire): sessions are still read.
        assert await a.get_session("k") is None
        assert await a.coordination().acquire("job", 5)
        got: asyncio.Queue[str] = asyncio.Queue()
        b.coordination().subscribe("watch", got.put_nowait)
        await a.coordination().publish("watch", "support")
        assert await asyncio.wait_for(got.get(), 5) == "support"
        # A reader of A waiting on "k" is woken over A's subscriber, with no data connection free.
        woken = a._waiter("k")
        await b.commit("k", None, [{"n": 1}])
        await asyncio.wait_for(woken.wait(), 5)
    finally:
        for conn in taken:
            await pool.release(conn)
    assert await a.get_session("k") is None and [e["n"] for e in await a.read_events("k", 0)] == [1]
