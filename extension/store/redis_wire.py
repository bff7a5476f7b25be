"""Many Redis commands in flight on one socket: the store's hot path (turns, reads, claims, indexes).

Redis answers the commands of a connection in the order it received them, so one connection can
carry any number of concurrent commands: each waits on a future queued in send order, and the
reader resolves the futures as hiredis parses the replies. A pool that lends a whole connection to
each command (redis-py's) spends more CPU per command than Redis spends running it; that pool
stays for everything that needs a connection to itself (pub/sub, MULTI pipelines, tests' reads).

Failures are redis-py's exceptions, so the store turns them into StoreError like any other: a
connection that cannot be made, or is lost, fails every command waiting on it (ConnectionError);
a command unanswered after `timeout` seconds closes its connection (TimeoutError for all on it,
as a Redis that hangs answers none of them); the next command opens a new connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import ssl
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("extension.store.redis")

Arg = str | int | float | bytes


def _replies(reader: hiredis.Reader, data: bytes) -> Iterator[Any]:
    """Every whole reply in what has arrived so far (RedisConnectionError when it is not RESP)."""
    reader.feed(data)
    while True:
        try:
            reply = reader.gets()
        except hiredis.ProtocolError as exc:
            raise RedisConnectionError(f"Redis sent something that is not RESP: {exc}") from exc
        if reply is False:
            return
        yield reply


class _Connection(asyncio.Protocol):
    """One socket: the futures of the commands sent on it, oldest first, each with its send time."""

    def __init__(self) -> None:
        self.reader = hiredis.Reader(encoding="utf-8", replyError=ResponseError)
        self.pending: deque[tuple[asyncio.Future[Any], float]] = deque()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        # Commands sent in one pass of the event loop go out in one write (one system call).
        self._out: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self, packed: bytes, future: asyncio.Future[Any]) -> None:
        self.pending.append((future, time.monotonic()))
        if not self._out:
            asyncio.get_running_loop().call_soon(self._flush)
        self._out.append(packed)

    def _flush(self) -> None:
        out, self._out = self._out, []
        if self.transport is not None and not self.closed:
            self.transport.write(b"".join(out) if len(out) > 1 else out[0])

    def data_received(self, data: bytes) -> None:
        try:
            for reply in _replies(self.reader, data):
                if not self.pending:  # a reply to nothing: the stream cannot be trusted any more
                    raise RedisConnectionError("Redis answered a command that was not sent")
                future, _ = self.pending.popleft()
                if not future.done():  # its caller may have been cancelled: the reply is dropped
                    future.set_result(reply)
        except RedisConnectionError as exc:
            self.fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail_pending(RedisConnectionError(f"the connection to Redis was lost{f': {exc}' if exc else ''}"))

    def fail(self, error: Exception) -> None:
        """Close the connection and fail every command waiting on it."""
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
        self._fail_pending(error)

    def _fail_pending(self, error: Exception) -> None:
        while self.pending:
            future, _ = self.pending.popleft()
            if not future.done():
                future.set_exception(error)

    def oldest_age(self, now: float) -> float:
        return now - self.pending[0][1] if self.pending else 0.0


class _Subscription(asyncio.Protocol):
    """A subscribed connection: each pushed message goes to `on_message` as it is parsed."""

    def __init__(self, on_message: Callable[[str, str], None], on_subscribed: Callable[[], None],
                 setup: int) -> None:
        self.reader = hiredis.Reader(encoding="utf-8", replyError=ResponseError)
        self.on_message, self.on_subscribed = on_message, on_subscribed
        self.transport: asyncio.Transport | None = None
        # Replies to the setup commands come first; then pushes (subscribe, message, pong).
        self.setup_left = setup
        self.heard = time.monotonic()
        self.ended: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.heard = time.monotonic()
        try:
            for reply in _replies(self.reader, data):
                if isinstance(reply, ResponseError):
                    raise RedisConnectionError(f"Redis refused the subscription: {reply}")
                if self.setup_left:
                    self.setup_left -= 1
                elif isinstance(reply, list) and len(reply) == 3 and reply[0] == "message":
                    try:
                        self.on_message(reply[1], reply[2])
                    except Exception:  # one bad message must not end the subscription
                        log.exception("a Redis pub/sub message could not be handled")
                elif isinstance(reply, list) and reply and reply[0] == "subscribe":
                    self.on_subscribed()
        except RedisConnectionError as exc:
            self.end(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ended.done():
            self.ended.set_result(RedisConnectionError(
                f"the pub/sub connection to Redis was lost{f': {exc}' if exc else ''}"))

    def end(self, error: Exception) -> None:
        if not self.ended.done():
            self.ended.set_result(error)
        if self.transport is not None:
            self.transport.abort()


def _pack(args: tuple[Arg, ...]) -> bytes:
    """One command in RESP (hiredis' stubs type the tuple as of one item)."""
    packed: bytes = hiredis.pack_command(cast(Any, args))
    return packed


def _handshake(parts: Any, name: str) -> list[tuple[Arg, ...]]:
    """The commands a new connection sends first: AUTH, SELECT, CLIENT SETNAME."""
    out: list[tuple[Arg, ...]] = []
    if parts.password is not None:
        user = unquote(parts.username) if parts.username else None
        out.append(("AUTH", user, unquote(parts.password)) if user else ("AUTH", unquote(parts.password)))
    db = parts.path.lstrip("/")
    if db and db != "0":
        out.append(("SELECT", db))
    out.append(("CLIENT", "SETNAME", name))
    return out


class RedisWire:
    """A few multiplexed connections to one Redis; `call` runs one command, `script` one Lua script."""

    def __init__(self, url: str, *, name: str, connections: int = 2, timeout: float = 5.0) -> None:
        self._parts = urlsplit(url)
        self._name = name
        self._timeout = timeout
        self._slots: list[_Connection | None] = [None] * max(1, connections)
        self._opening: list[asyncio.Lock] = [asyncio.Lock() for _ in self._slots]
        self._next = 0
        self._shas: dict[str, str] = {}
        self._watchdog: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"RedisWire({self._parts.hostname}:{self._parts.port or 6379}, {len(self._slots)} connections)"

    async def call(self, *args: Arg) -> Any:
        """The reply of one command; an error reply is raised as ResponseError."""
        conn = await self._connection()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        conn.send(_pack(args), future)
        reply = await future
        if isinstance(reply, ResponseError):
            raise reply
        return reply

    async def script(self, source: str, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """Run a Lua script by its SHA1, loading it when this Redis does not know it yet."""
        sha = self._shas.get(source)
        if sha is None:
            sha = self._shas[source] = hashlib.sha1(source.encode("utf-8")).hexdigest()
        try:
            return await self.call("EVALSHA", sha, len(keys), *keys, *args)
        except ResponseError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        await self.call("SCRIPT", "LOAD", source)
        return await self.call("EVALSHA", sha, len(keys), *keys, *args)

    async def subscribe(self, channels: Sequence[str], on_message: Callable[[str, str], None],
                        on_subscribed: Callable[[], None], *, ping_seconds: float) -> None:
        """Hold a subscription to `channels` on a connection of its own, calling `on_message(channel,
        data)` for each message, until the connection fails: then raises (ConnectionError, or
        TimeoutError after 3 x `ping_seconds` of silence despite pings). Cancel it to stop."""
        loop = asyncio.get_running_loop()
        setup = _handshake(self._parts, self._name)
        tls = ssl.create_default_context() if self._parts.scheme == "rediss" else None
        try:
            async with asyncio.timeout(self._timeout):
                _, sub = await loop.create_connection(
                    lambda: _Subscription(on_message, on_subscribed, len(setup)),
                    self._parts.hostname or "localhost", self._parts.port or 6379, ssl=tls)
        except TimeoutError:
            raise RedisTimeoutError(f"no connection to Redis within {self._timeout:g} s") from None
        except OSError as exc:
            raise RedisConnectionError(f"cannot connect to Redis: {exc.strerror or exc}") from None
        assert sub.transport is not None
        try:
            sub.transport.write(b"".join(_pack(c) for c in [*setup, ("SUBSCRIBE", *channels)]))
            while True:
                done, _ = await asyncio.wait({sub.ended}, timeout=ping_seconds)
                if done:
                    raise sub.ended.result()
                if time.monotonic() - sub.heard > 3 * ping_seconds:
                    raise RedisTimeoutError("no answer on the pub/sub connection")
                sub.transport.write(_pack(("PING",)))  # answered even when nothing is published
        finally:
            sub.end(RedisConnectionError("the subscription ended"))

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        for i, conn in enumerate(self._slots):
            if conn is not None:
                conn.fail(RedisConnectionError("the Redis store was closed"))
            self._slots[i] = None

    async def _connection(self) -> _Connection:
        i = self._next = (self._next + 1) % len(self._slots)
        conn = self._slots[i]
        if conn is not None and not conn.closed:
            return conn
        async with self._opening[i]:
            conn = self._slots[i]
            if conn is None or conn.closed:
                conn = self._slots[i] = await self._open()
            if self._watchdog is None:
                self._watchdog = asyncio.create_task(self._watch(), name="redis-wire-watchdog")
            return conn

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        tls = ssl.create_default_context() if self._parts.scheme == "rediss" else None
        conn: _Connection | None = None
        try:
            async with asyncio.timeout(self._timeout):
                _, conn = await loop.create_connection(_Connection, self._parts.hostname or "localhost",
                                                       self._parts.port or 6379, ssl=tls)
                futures = []
                for command in _handshake(self._parts, self._name):
                    future: asyncio.Future[Any] = loop.create_future()
                    conn.send(_pack(command), future)
                    futures.append(future)
                for future in futures:
                    reply = await future
                    if isinstance(reply, ResponseError):
                        raise RedisConnectionError(f"Redis refused the connection's setup: {reply}")
            return conn
        except BaseException as exc:
            # A connection that is not fully set up is never used: closed, whatever went wrong.
            if conn is not None:
                conn.fail(RedisConnectionError("the connection to Redis was not set up"))
            if isinstance(exc, TimeoutError):
                raise RedisTimeoutError(f"no connection to Redis within {self._timeout:g} s") from None
            if isinstance(exc, OSError):
                raise RedisConnectionError(f"cannot connect to Redis: {exc.strerror or exc}") from None
            raise

    async def _watch(self) -> None:
        """A command unanswered for `timeout` seconds: Redis hangs or the link is half open."""
        while True:
            await asyncio.sleep(min(1.0, self._timeout / 4))
            now = time.monotonic()
            for conn in self._slots:
                if conn is not None and not conn.closed and conn.oldest_age(now) > self._timeout:
                    conn.fail(RedisTimeoutError(f"Redis did not answer within {self._timeout:g} s"))
