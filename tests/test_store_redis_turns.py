"""A Redis turn in few round trips: all or nothing under a kill, the lock's read, logs of older versions."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from extension.store import StoreError, store_from_url
from extension.store.redis import RedisStore

from redis_server import delete_prefix, new_prefix, redis_url, require_redis
from support import eventually

Pair = tuple[RedisStore, RedisStore]


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    require_redis()
    prefix = new_prefix()
    made = [store_from_url(redis_url(prefix, lock_seconds=0.3)) for _ in range(2)]
    a, b = made
    assert isinstance(a, RedisStore) and isinstance(b, RedisStore)
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


def dies_after(store: RedisStore, commands: int) -> list[str]:
    """From now on the store's client sends `commands` commands, then its connection is gone for good.

    As if the process were killed between two commands: whatever it had sent is in Redis, nothing after.
    """
    wire: Any = store.wire  # the connections turns go over (redis_wire)
    real = wire.call
    sent: list[str] = []

    async def call(*args: Any) -> Any:
        if len(sent) >= commands:
            raise RedisConnectionError("the process is gone")
        sent.append(str(args[0]))
        return await real(*args)

    wire.call = call
    return sent


async def turn_state(store: RedisStore, key: str) -> tuple[Any, list[Any]]:
    return await store.get_session(key), [e["n"] for e in await store.read_events(key, 0)]


@pytest.mark.parametrize("commands", [0, 1, 2, 3])
async def test_a_commit_cut_off_after_any_command_is_stored_whole_or_not_at_all(pair: Pair, commands: int) -> None:
    writer, reader = pair
    await writer.commit("warm", None, [{"n": 0}])  # the turn's script is loaded: one command per commit
    await writer.commit("k", {"n": 1}, [{"n": 1}])
    sent = dies_after(writer, commands)
    with pytest.raises(StoreError) if commands == 0 else contextlib.suppress(StoreError):
        await writer.commit("k", {"n": 2}, [{"n": 2}, {"n": "2b"}])
    assert await turn_state(reader, "k") in (({"n": 1}, [1]), ({"n": 2}, [1, 2, "2b"]))
    # A turn that reached Redis at all reached it whole: a commit split into several commands
    # (SET, then the appends) would leave the session of turn 2 with the events of turn 1 here.
    if sent:
        assert await turn_state(reader, "k") == ({"n": 2}, [1, 2, "2b"])
        assert len(sent) == 1


KILLED_WRITER = """
import asyncio, sys
from extension.store import store_from_url

async def main() -> None:
    store = store_from_url(sys.argv[1])
    await store.open()
    n = 0
    print("ready", flush=True)
    while True:
        n += 1
        key = f"k{n % 4}"
        async with store.lock(key):
            await store.commit(key, {"n": n}, [{"n": n}, {"n": n, "part": 2}], ends_turn=True)

asyncio.run(main())
"""


async def test_a_process_killed_while_committing_leaves_only_whole_turns(pair: Pair) -> None:
    reader, _ = pair
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", KILLED_WRITER, redis_url(reader.prefix),
                                                stdout=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert await asyncio.wait_for(proc.stdout.readline(), 30) == b"ready\n"

        async def turns_stored() -> bool:
            return int(await reader.redis.llen(reader.k("log", "k3"))) >= 20

        await eventually(turns_stored, "the writer's turns")
    finally:
        # Killed somewhere in the middle of its turns: no chance to finish what it was sending.
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    for key in ("k0", "k1", "k2", "k3"):
        session = await reader.get_session(key)
        events = await reader.read_events(key, 0, limit=1000)
        assert session is not None and events, key
        # The session and the log end with the same turn, and that turn's two events are both there.
        assert events[-1] == {"n": session["n"], "part": 2, "seq": events[-1]["seq"]}
        assert events[-2]["n"] == session["n"]
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


async def test_the_session_read_with_the_lock_is_the_stored_one(pair: Pair) -> None:
    a, b = pair
    await b.commit("k", {"v": 1}, [])
    async with a.lock("k"):
        assert await a.get_session("k") == {"v": 1}
        # Read twice in one turn: the second read asks Redis again.
        await b.redis.set(b.k("s", "k"), json.dumps({"v": "written by hand"}))
        assert await a.get_session("k") == {"v": "written by hand"}
        await a.commit("k", {"v": 2}, [])
        assert await a.get_session("k") == {"v": 2}
    async with a.lock("nobody"):
        assert await a.get_session("nobody") is None
    assert a.per_key_entries() == 0


async def test_a_commit_that_ends_the_turn_frees_the_lock_for_other_replicas(
        pair: Pair, caplog: pytest.LogCaptureFixture) -> None:
    a, b = pair
    caplog.set_level(logging.WARNING, logger="extension.store.redis")
    async with a.lock("k"):
        await a.commit("k", {"v": 1}, [{"n": 1}], ends_turn=True)
        assert await a.redis.get(a.k("lock", "k")) is None
        # Another replica takes the session at once, while this turn is still winding down.
        async with b.lock("k"):
            assert await b.get_session("k") == {"v": 1}
            await b.commit("k", {"v": 2}, [{"n": 2}], ends_turn=True)
    assert [e["n"] for e in await a.read_events("k", 0)] == [1, 2]
    assert caplog.records == []
    assert a.per_key_entries() == 0 and b.per_key_entries() == 0


async def test_an_event_log_of_an_older_version_is_read_and_moved_into_the_list(pair: Pair) -> None:
    a, b = pair
    stream = a.k("e", "k")
    for seq in (1, 2, 3):
        await a.redis.xadd(stream, {"d": json.dumps({"n": seq})}, id=f"{seq}-0")
    assert [(e["seq"], e["n"]) for e in await b.read_events("k", 1)] == [(2, 2), (3, 3)]
    assert [e["seq"] for e in await b.commit("k", {"v": 1}, [{"n": 4}])] == [4]
    assert await a.redis.exists(stream) == 0
    assert [(e["seq"], e["n"]) for e in await b.read_events("k", 0)] == [(1, 1), (2, 2), (3, 3), (4, 4)]
    await a.delete_session("k")
    assert await a.read_events("k", 0) == []
