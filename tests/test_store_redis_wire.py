"""The Redis store's multiplexed connections: many commands at once on one socket, each given its own
reply, and every failure (lost, hung, refused) a clear error that the next command recovers from."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from extension.store.redis_wire import RedisWire

from redis_server import DB, HOST, PORT, new_prefix, require_redis
from support import eventually


@pytest.fixture
async def wire() -> AsyncIterator[RedisWire]:
    require_redis()
    w = RedisWire(f"redis://{HOST}:{PORT}/{DB}", name="wire-test", connections=2, timeout=2.0)
    try:
        yield w
    finally:
        await w.close()


async def test_concurrent_commands_each_get_their_own_reply(wire: RedisWire) -> None:
    prefix = new_prefix()
    keys = [f"{prefix}:{n}" for n in range(300)]
    try:
        await asyncio.gather(*(wire.call("SET", key, f"value {n}") for n, key in enumerate(keys)))
        got = await asyncio.gather(*(wire.call("GET", key) for key in reversed(keys)))
        assert got == [f"value {n}" for n in reversed(range(300))]
        # The connection's setup selected the URL's database.
        assert (await wire.call("CLIENT", "INFO")).split(" db=")[1].split(" ")[0] == str(DB)
    finally:
        await wire.call("DEL", *keys)


async def test_an_error_reply_is_raised_and_the_connection_goes_on(wire: RedisWire) -> None:
    key = new_prefix()
    assert await wire.call("SET", key, "x") == "OK"
    # Commands of separate callers on one connection: the error reply is only the INCR's.
    results = await asyncio.gather(wire.call("INCR", key), wire.call("GET", key), wire.call("INCR", key),
                                   wire.call("GET", key), return_exceptions=True)
    try:
        assert results[1::2] == ["x", "x"]
        assert all(isinstance(r, ResponseError) and "not an integer" in str(r) for r in results[::2])
    finally:
        await wire.call("DEL", key)


async def test_a_script_unknown_to_redis_is_loaded_once_and_run(wire: RedisWire) -> None:
    source = f"return {{KEYS[1], ARGV[1], '{new_prefix()}'}}"  # never seen by this Redis
    first = await wire.script(source, ["k"], ["a"])
    assert first[:2] == ["k", "a"]
    assert await wire.script(source, ["k2"], [7]) == ["k2", "7", first[2]]


@contextlib.asynccontextmanager
async def silent_server(answers: int = 0) -> AsyncIterator[tuple[int, list[asyncio.StreamWriter]]]:
    """A TCP server that answers `answers` reads with +OK, then reads but never answers again (a
    Redis that hangs, a half-open link)."""
    clients: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        clients.append(writer)
        left = answers
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                if left:
                    left -= 1
                    writer.write(b"+OK\r\n")

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], clients
    finally:
        server.close()
        for client in clients:
            client.close()


async def test_a_redis_that_never_answers_fails_every_waiting_command_within_the_timeout() -> None:
    async with silent_server() as (port, _):
        w = RedisWire(f"redis://127.0.0.1:{port}/0", name="wire-test", connections=1, timeout=0.3)
        try:
            with pytest.raises(RedisTimeoutError, match="no connection to Redis within 0.3 s"):
                await w.call("GET", "k")  # the setup (CLIENT SETNAME) is never answered
        finally:
            await w.close()


async def test_a_redis_that_stops_answering_fails_the_commands_waiting_on_it() -> None:
    async with silent_server(answers=1) as (port, _):
        w = RedisWire(f"redis://127.0.0.1:{port}/0", name="wire-test", connections=1, timeout=0.3)
        try:
            # The connection's setup is answered, then Redis hangs.
            results = await asyncio.wait_for(asyncio.gather(w.call("GET", "a"), w.call("GET", "b"),
                                                            return_exceptions=True), 5)
            assert all(isinstance(r, RedisTimeoutError) and "did not answer within 0.3 s" in str(r)
                       for r in results), results
        finally:
            await w.close()


async def test_a_lost_connection_fails_its_commands_and_the_next_one_reconnects() -> None:
    require_redis()
    name = f"wire-kill-{new_prefix()}"
    w = RedisWire(f"redis://{HOST}:{PORT}/{DB}", name=name, connections=1)
    killer = RedisWire(f"redis://{HOST}:{PORT}/{DB}", name="wire-killer", connections=1)
    try:
        assert await w.call("PING") == "PONG"
        # A command that blocks, and one queued behind it; then the connection is killed.
        blocked = asyncio.create_task(w.call("BLPOP", new_prefix(), 5))
        behind = asyncio.create_task(w.call("PING"))
        await asyncio.sleep(0.1)
        clients = await killer.call("CLIENT", "LIST")
        ids = [line.split("id=")[1].split(" ")[0] for line in clients.splitlines() if f"name={name} " in line]
        assert len(ids) == 1
        await killer.call("CLIENT", "KILL", "ID", ids[0])
        for task in (blocked, behind):
            with pytest.raises(RedisConnectionError, match="lost"):
                await asyncio.wait_for(task, 5)
        assert [await w.call("PING") for _ in range(3)] == ["PONG"] * 3
    finally:
        await w.close()
        await killer.close()


async def test_no_redis_at_all_is_a_connection_error() -> None:
    w = RedisWire("redis://127.0.0.1:1/0", name="wire-test", connections=1, timeout=1.0)
    try:
        with pytest.raises(RedisConnectionError, match="cannot connect to Redis"):
            await w.call("PING")
    finally:
        await w.close()


def test_the_repr_shows_no_password() -> None:
    w = RedisWire("redis://user:s3cret-pass@127.0.0.1:6379/2", name="wire-test")
    assert "s3cret" not in repr(w) and "127.0.0.1:6379" in repr(w)


async def test_a_subscription_hands_over_each_message_and_survives_a_handler_that_fails(wire: RedisWire) -> None:
    channel = f"{new_prefix()}:chan"
    got: list[str] = []
    subscribed = asyncio.Event()

    def on_message(name: str, data: str) -> None:
        if data == "bad":
            raise ValueError("a handler that fails")
        got.append(f"{name}={data}")

    task = asyncio.create_task(wire.subscribe([channel], on_message, subscribed.set, ping_seconds=0.2))
    try:
        await asyncio.wait_for(subscribed.wait(), 5)
        for data in ("one", "bad", "two"):
            assert await wire.call("PUBLISH", channel, data) == 1
        await eventually(lambda: got == [f"{channel}=one", f"{channel}=two"], "both good messages handed over")
        await asyncio.sleep(0.7)  # pings keep a quiet subscription alive past 3 x ping_seconds
        assert not task.done()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_subscription_that_hears_nothing_despite_pings_ends() -> None:
    async with silent_server(answers=1) as (port, _):
        w = RedisWire(f"redis://127.0.0.1:{port}/0", name="wire-test", connections=1, timeout=1.0)
        with pytest.raises(RedisTimeoutError, match="no answer on the pub/sub connection"):
            await asyncio.wait_for(w.subscribe(["c"], lambda *_: None, lambda: None, ping_seconds=0.1), 5)
