"""The shared store for several replicas: Redis (strings, lists, hashes, locks, pub/sub)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ..repeating import RepeatedFailure
from .base import Blob, Claim, JsonDict, Store, StoreError, last_used
from .coordination import Coordination
from .redis_coordination import RedisCoordination
from .redis_errors import translated
from .redis_scripts import COMMIT, EXTEND, LAST_SEQ, READ, RELEASE, TAKE
from .redis_url import RedisUrl
from .redis_wire import RedisWire

log = logging.getLogger("extension.store.redis")

# How often a replica waiting for a session lock held elsewhere asks again (one waiter per process).
LOCK_POLL_SECONDS = 0.005
# The pub/sub connection is pinged after this much silence (and dropped after three times that).
PUBSUB_PING_SECONDS = 5.0
# Connections per process for sessions, events, claims and indexes. Past that a command waits for a
# free one (BlockingConnectionPool) instead of failing, for at most POOL_WAIT_SECONDS: well under
# the 10 s in which Genesys wants a webhook answered, even after webhook_wait_seconds.
POOL_CONNECTIONS = 50
POOL_WAIT_SECONDS = 2.0
# The pub/sub subscriber, leases and nudges have their own small pool: a burst of turns that takes
# every data connection must not delay a lease renewal into a lost lease, nor starve the subscriber.
CONTROL_CONNECTIONS = 8
# What one command (or a connect) may take before it counts as failed.
COMMAND_TIMEOUT_SECONDS = 5.0
# Multiplexed connections of the hot path (redis_wire): each carries any number of commands at once.
WIRE_CONNECTIONS = 2

def _dump(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"))


LISTENER_STOP_SECONDS = 2.0
# What a held lock's session read looks like before anyone asked for it, and once it is used up.
_UNREAD = object()


class _Hold:
    """A session lock this process holds: its token, the session read with it, its keeper."""

    __slots__ = ("token", "doc", "released", "timer", "keeper")

    def __init__(self, token: str, doc: str | None) -> None:
        self.token = token
        # The session JSON read when the lock was taken (decoded only if the turn reads it).
        self.doc: object = doc
        # The turn's commit released the lock (ends_turn): nothing is left to release.
        self.released = False
        self.timer: asyncio.TimerHandle | None = None
        self.keeper: asyncio.Task[None] | None = None

    def stop_keeping(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.keeper is not None:
            self.keeper.cancel()


class RedisStore(Store):
    """Redis behind the Store interface, shared by every replica; see docs/REPLICAS.md for the keys.

    Event logs are lists of `<seq> <event JSON>` items with consecutive seq numbers, so any replica
    replays them from an index (redis_scripts). Live readers wait on an in-process event that one
    pub/sub connection per process sets when any replica commits to that session.
    """

    def __init__(self, options: RedisUrl) -> None:
        super().__init__()
        self.options = options
        self.prefix = options.prefix
        self._redis: aioredis.Redis | None = None
        self._control: aioredis.Redis | None = None
        self._wire: RedisWire | None = None
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        # The session locks this process holds: their tokens fence its commits.
        self._holds: dict[str, _Hold] = {}

    def __repr__(self) -> str:
        return f"RedisStore({self.options.display!r}, prefix={self.prefix!r})"

    def k(self, kind: str, name: str) -> str:
        """The Redis key of a thing of this deployment (every key starts with the prefix)."""
        return f"{self.prefix}:{kind}:{name}"

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            raise StoreError("the Redis store is not open")
        return self._redis

    @property
    def wire(self) -> RedisWire:
        """The multiplexed connections of sessions, events, locks, claims and index reads."""
        if self._wire is None:
            raise StoreError("the Redis store is not open")
        return self._wire

    def _script(self, source: str, keys: list[str], args: list[Any]) -> Any:
        """Run one of redis_scripts' scripts (EVALSHA, loaded on first use) on the hot path."""
        return self.wire.script(source, keys, args)

    @property
    def control(self) -> aioredis.Redis:
        """The client of the pub/sub subscriber, leases and nudges (its own pool)."""
        if self._control is None:
            raise StoreError("the Redis store is not open")
        return self._control

    def _client_name(self) -> str:
        # Named, so that CLIENT LIST tells operators which replica holds which connection.
        return f"{self.prefix}:{socket.gethostname()}:{os.getpid()}"

    def _client(self, connections: int) -> aioredis.Redis:
        pool = aioredis.BlockingConnectionPool.from_url(
            self.options.client_url, max_connections=connections, timeout=POOL_WAIT_SECONDS,
            decode_responses=True, health_check_interval=15,
            # A Redis that hangs (paused, a half-open link) fails a command instead of holding it for ever.
            socket_connect_timeout=COMMAND_TIMEOUT_SECONDS, socket_timeout=COMMAND_TIMEOUT_SECONDS,
            client_name=self._client_name())
        return aioredis.Redis.from_pool(pool)

    # Lifecycle -------------------------------------------------------------------------------
    async def open(self) -> None:
        client = self._client(POOL_CONNECTIONS)
        control = self._client(CONTROL_CONNECTIONS)
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            await client.aclose()
            await control.aclose()
            raise StoreError(f"cannot reach Redis at {self.options.display}: {exc}") from None
        self._redis = client
        self._control = control
        self._wire = RedisWire(self.options.client_url, name=self._client_name(), connections=WIRE_CONNECTIONS,
                               timeout=COMMAND_TIMEOUT_SECONDS)
        self._listener = asyncio.create_task(self._listen(), name="redis-store-listener")
        # Readers rely on wake-ups from the first commit on: wait (briefly) for the subscription.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), timeout=5.0)

    async def close(self) -> None:
        if self._listener is not None:
            listener, self._listener = self._listener, None
            listener.cancel()
            # redis-py may swallow a cancellation that lands in a read: never wait on it for ever.
            done, _ = await asyncio.wait({listener}, timeout=LISTENER_STOP_SECONDS)
            if not done:
                log.warning("the Redis wake-up listener did not stop within %g s; closing anyway",
                            LISTENER_STOP_SECONDS)
            else:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    listener.result()
        if self._wire is not None:
            await self._wire.close()
        for client in (self._redis, self._control):
            if client is not None:
                await client.aclose()
        self._redis = self._control = None
        self._wire = None

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (RedisError, OSError, StoreError):
            return False

    async def failure(self) -> str | None:
        try:
            await self.redis.ping()
        except (RedisError, OSError, StoreError) as exc:
            return f"Redis at {self.options.display} unreachable ({exc.__class__.__name__}: {exc})"
        return None

    def coordination(self) -> Coordination:
        if self._coordination is None:
            self._coordination = RedisCoordination(self)
        return self._coordination

    # Sessions and events ---------------------------------------------------------------------
    @translated
    async def get_session(self, key: str) -> JsonDict | None:
        hold = self._holds.get(key)
        if hold is not None and hold.doc is not _UNREAD:
            # Read with the lock, and nothing of this process has stored the session since.
            doc, hold.doc = hold.doc, _UNREAD
        else:
            doc = await self.wire.call("GET", self.k("s", key))
        return json.loads(doc) if isinstance(doc, str) else None

    @translated
    async def commit(self, key: str, session: JsonDict | None, events: list[JsonDict], *,
                     ends_turn: bool = False, claims: Sequence[Claim] = ()) -> list[JsonDict]:
        # Encoded before Redis sees anything: a value that is not JSON refuses the whole turn.
        docs = [_dump(event) for event in events]
        session_doc = _dump(session) if session is not None else ""
        hold = self._holds.get(key)
        if hold is not None:
            hold.doc = _UNREAD
        release = ends_turn and hold is not None
        used = last_used(session) if session is not None else time.time()
        first = int(await self._script(
            COMMIT,
            [self.k("s", key), self.k("log", key), self.k("lock", key), self.k("z", "updated"), self.k("e", key),
             *(self.k(f"claim:{namespace}", name) for namespace, name, _ in claims)],
            [hold.token if hold is not None else "", "1" if session is not None else "0", session_doc,
             self.k("chan", "wake"), key, repr(used), self.event_limit, "1" if release else "0",
             len(claims), *(max(1, int(ttl * 1000)) for _, _, ttl in claims), *docs],
        ))
        if first < 0:
            raise StoreError("the session lock expired before the turn was stored (Redis unreachable or "
                             "the process stalled); the turn was not stored")
        if release and hold is not None:
            hold.released = True
            hold.stop_keeping()
        stored = [{**event, "seq": first + i} for i, event in enumerate(events)]
        if stored:
            self._notify(key)
        return stored

    @translated
    async def delete_session(self, key: str) -> None:
        hold = self._holds.get(key)
        if hold is not None:
            hold.doc = _UNREAD
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.k("s", key), self.k("log", key), self.k("e", key))
            pipe.zrem(self.k("z", "updated"), key)
            await pipe.execute()

    @translated
    async def idle_sessions(self, before: float, limit: int) -> list[str]:
        keys: Any = await self.redis.zrangebyscore(self.k("z", "updated"), "-inf", f"({before!r}",
                                                   start=0, num=limit)
        return [str(k) for k in keys]

    @translated
    async def _last_seq(self, key: str) -> int:
        return int(await self._script(LAST_SEQ, [self.k("log", key), self.k("e", key)], []))

    @translated
    async def _read_events(self, key: str, after: int, limit: int) -> list[JsonDict]:
        # decode_responses=True: the items are str (redis-py types them as bytes | str).
        items: Any = await self._script(READ, [self.k("log", key), self.k("e", key)],
                                        [max(after, 0), limit])
        out = []
        for item in items:
            seq, _, body = item.partition(" ")
            doc = json.loads(body)
            doc["seq"] = int(seq)
            out.append(doc)
        return out

    # Claims and indexes ----------------------------------------------------------------------
    @translated
    async def claim(self, namespace: str, key: str, ttl: float) -> bool:
        return await self.wire.call("SET", self.k(f"claim:{namespace}", key), "1", "NX", "PX",
                                    max(1, int(ttl * 1000))) is not None

    @translated
    async def claimed(self, namespace: str, key: str) -> bool:
        return bool(await self.wire.call("EXISTS", self.k(f"claim:{namespace}", key)))

    @translated
    async def claimed_many(self, namespace: str, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        values = await self.wire.call("MGET", *(self.k(f"claim:{namespace}", key) for key in keys))
        return {key for key, value in zip(keys, values, strict=True) if value is not None}

    @translated
    async def index_set(self, namespace: str, key: str, value: str) -> None:
        await self.redis.hset(self.k("idx", namespace), key, value)

    @translated
    async def index_setdefault(self, namespace: str, key: str, value: str) -> str:
        await self.redis.hsetnx(self.k("idx", namespace), key, value)
        stored = await self.redis.hget(self.k("idx", namespace), key)
        return value if stored is None else str(stored)

    @translated
    async def index_get(self, namespace: str, key: str) -> str | None:
        value = await self.wire.call("HGET", self.k("idx", namespace), key)
        return str(value) if value is not None else None

    @translated
    async def index_delete(self, namespace: str, key: str) -> None:
        await self.redis.hdel(self.k("idx", namespace), key)

    @translated
    async def index_set_many(self, namespace: str, entries: dict[str, str]) -> None:
        if entries:
            mapping: Any = entries  # redis-py types its mapping's keys invariantly
            await self.redis.hset(self.k("idx", namespace), mapping=mapping)

    @translated
    async def index_delete_many(self, namespace: str, keys: Sequence[str]) -> None:
        if keys:
            await self.redis.hdel(self.k("idx", namespace), *keys)

    @translated
    async def index_items(self, namespace: str) -> dict[str, str]:
        return {str(k): str(v) for k, v in (await self.redis.hgetall(self.k("idx", namespace))).items()}

    # Blobs: one hash each (meta, data in base64, as the clients decode answers as text), expiring in Redis.
    @translated
    async def put_blob(self, key: str, data: bytes, meta: JsonDict, ttl: float) -> None:
        name = self.k("blob", key)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(name)
            pipe.hset(name, mapping={"meta": _dump(meta), "data": base64.b64encode(data).decode("ascii")})
            pipe.pexpire(name, max(1, int(ttl * 1000)))
            await pipe.execute()

    @translated
    async def get_blob(self, key: str) -> Blob | None:
        fields = await self.redis.hgetall(self.k("blob", key))
        if not fields or "meta" not in fields or "data" not in fields:
            return None
        return Blob(base64.b64decode(fields["data"]), json.loads(fields["meta"]))

    @translated
    async def delete_blob(self, key: str) -> None:
        await self.redis.delete(self.k("blob", key))

    # Per-session serialisation across replicas ------------------------------------------------
    def per_key_entries(self) -> int:
        return super().per_key_entries() + len(self._holds)

    def lock_surely_free(self, key: str) -> bool:
        """Another replica may hold the session's lock: never known free without asking Redis."""
        return False

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """Serialise turns of one session across every replica sharing this Redis.

        Taking the lock reads the session in the same round trip; a commit with `ends_turn`
        releases it in its own.
        """
        async with super().lock(key):  # contenders of this process queue here, one polls Redis
            ttl = self.options.lock_seconds
            hold = await self._take_lock(key, ttl)
            self._holds[key] = hold
            hold.timer = asyncio.get_running_loop().call_later(ttl / 3, self._start_keeper, key, hold, ttl)
            try:
                yield
            finally:
                hold.stop_keeping()
                self._holds.pop(key, None)
                if not hold.released:
                    await self._release(key, hold)

    @translated
    async def _take_lock(self, key: str, ttl: float) -> _Hold:
        token = secrets.token_hex(16)
        keys, args = [self.k("lock", key), self.k("s", key)], [token, max(1, int(ttl * 1000))]
        while True:
            taken: Any = await self._script(TAKE, keys, args)
            if taken[0] == 1:
                return _Hold(token, taken[1] if len(taken) > 1 else None)
            await asyncio.sleep(LOCK_POLL_SECONDS)

    async def _release(self, key: str, hold: _Hold) -> None:
        try:
            if not await self._script(RELEASE, [self.k("lock", key)], [hold.token]):
                log.error("a session lock had expired before its turn ended")
        except (RedisError, OSError) as exc:  # it expires by itself after lock_seconds
            log.warning("could not release a session lock: %s", exc)

    def _start_keeper(self, key: str, hold: _Hold, ttl: float) -> None:
        """The turn outlived a third of the lock's lifetime: keep extending the lock while it runs."""
        hold.timer = None
        hold.keeper = asyncio.create_task(self._keep_lock(key, hold, ttl), name="session-lock")

    async def _keep_lock(self, key: str, hold: _Hold, ttl: float) -> None:
        """A long Genesys call inside a turn must not let the lock expire: extend it while held."""
        while True:
            try:
                if not await self._script(EXTEND, [self.k("lock", key)],
                                          [hold.token, max(1, int(ttl * 1000))]):
                    log.error("lost a session lock while its turn was running; the turn will not be stored")
                    return
            except (RedisError, OSError) as exc:
                log.warning("could not extend a session lock: %s", exc)
            await asyncio.sleep(ttl / 3)

    # Live wake-ups between replicas -----------------------------------------------------------
    async def _listen(self) -> None:
        """One pub/sub connection per process: commits of any replica wake this process's readers."""
        failures = 0
        lost = RepeatedFailure(log, "the Redis pub/sub connection", level=logging.WARNING)
        wake, bus = self.k("chan", "wake"), self.k("chan", "bus")

        def on_message(channel: str, data: str) -> None:
            if channel == wake:
                self._notify(data)
            elif channel == bus:
                topic, _, body = data.partition("\n")
                self.coordination().dispatch(topic, body)

        def on_subscribed() -> None:
            nonlocal failures
            failures = 0
            lost.succeeded()
            self._listening.set()
            # Commits made while not subscribed woke nobody: every reader looks again.
            self._wake_all()

        while True:
            try:
                await self.wire.subscribe([wake, bus], on_message, on_subscribed, ping_seconds=PUBSUB_PING_SECONDS)
            except (RedisError, OSError) as exc:
                failures += 1
                lost.failed(exc)
            self._wake_all()
            await asyncio.sleep(min(5.0, 0.05 * 2 ** min(failures, 7)))
