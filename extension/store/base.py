"""The store interface: sessions, per-session event logs, one-time claims, small indexes and blobs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from .coordination import Coordination, LocalCoordination

JsonDict = dict[str, Any]


def last_used(session: JsonDict) -> float:
    """When a session was last used, for the idle index: its `updated` (set on the runtime's clock by
    the session manager before each commit), else now."""
    value = session.get("updated")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return time.time()
# A claim written with a turn: (namespace, key, ttl in seconds).
Claim = tuple[str, str, float]

# Each session keeps its newest this many events; older ones are dropped as new ones come.
# Replay (`after=SEQ`) is exact within what is kept; a reader further behind starts at the oldest kept.
EVENT_LOG_LIMIT = 1000


class StoreError(Exception):
    """The store could not do what was asked (unreachable, corrupt, bad URL)."""


@dataclass(frozen=True)
class Blob:
    """Bytes kept for a while (an uploaded file) with a small JSON document about them."""

    data: bytes
    meta: JsonDict

    def __repr__(self) -> str:
        return f"Blob({len(self.data)} bytes)"


class Store(ABC):
    """What the runtime keeps. Callers never know which backend is behind it.

    Sessions and events change together in `commit`, atomically, so a turn of the flow is
    either stored whole or not at all. Event `seq` numbers are assigned by the store and
    increase per session. `read_events(wait=...)` is the live feed for long-poll and sockets.
    A session's log keeps its newest `event_limit` events.
    """

    def __init__(self) -> None:
        self.event_limit = EVENT_LOG_LIMIT
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: dict[str, int] = defaultdict(int)
        self._waiters: dict[str, asyncio.Event] = {}
        # How many readers wait on each key: the waiter goes when the last one leaves, so a key
        # that is only read (never written) leaves nothing behind.
        self._readers: dict[str, int] = {}
        self._coordination: Coordination | None = None
        self.stopping = False

    # Lifecycle -----------------------------------------------------------------------------
    async def open(self) -> None:  # noqa: B027 - most backends need no preparation
        """Connect and prepare the backend."""

    async def close(self) -> None:  # noqa: B027
        """Release connections."""

    def stop_waiting(self) -> None:
        """On shutdown: every long read answers at once with what it has, and none waits from now on."""
        self.stopping = True
        self._wake_all()

    @abstractmethod
    async def ping(self) -> bool:
        """True when the backend answers."""

    async def failure(self) -> str | None:
        """What fails, in a few words for /readyz (None when the store works)."""
        return None if await self.ping() else "unreachable"

    # Sessions and events -------------------------------------------------------------------
    @abstractmethod
    async def get_session(self, key: str) -> JsonDict | None:
        """The stored session document, or None."""

    @abstractmethod
    async def commit(self, key: str, session: JsonDict | None, events: list[JsonDict], *,
                     ends_turn: bool = False, claims: Sequence[Claim] = ()) -> list[JsonDict]:
        """Store the session (unless None) and append events; return the events with `seq`.

        `ends_turn`: nothing more is stored under the session's lock, so a store whose lock is
        shared may release it in the same step (the lock's exit then has nothing left to do).
        `claims`: (namespace, key, ttl) claims written with the turn, all or nothing with it (a
        claim that lives already is renewed).
        """

    @abstractmethod
    async def delete_session(self, key: str) -> None:
        """Forget a session and its event log."""

    @abstractmethod
    async def idle_sessions(self, before: float, limit: int) -> list[str]:
        """Keys of sessions last stored before `before` (epoch seconds), oldest first."""

    @abstractmethod
    async def _read_events(self, key: str, after: int, limit: int) -> list[JsonDict]:
        """Events with seq > after, oldest first."""

    @abstractmethod
    async def _last_seq(self, key: str) -> int:
        """The seq of the session's newest event, 0 when its log is empty."""

    async def read_events(self, key: str, after: int = 0, *, limit: int = 500,
                          wait: float = 0.0) -> list[JsonDict]:
        """Events after `after`; with `wait`, block up to that many seconds for the first one.

        A reader ahead of the log (the session was deleted or expired and began again) reads it
        from the start: the new session's events must not hide behind the old seq numbers.
        """
        if wait <= 0 or self.stopping:
            return await self._read_now(key, after, limit)
        deadline = time.monotonic() + wait
        with self._reading(key):
            while True:
                # Taken before the read, so a commit between the read and the wait still wakes it.
                waiter = self._waiter(key)
                events = await self._read_now(key, after, limit)
                remaining = deadline - time.monotonic()
                if events or remaining <= 0 or self.stopping:
                    return events
                _raise_if_cancelled()
                # Woken or timed out, read once more: the deadline ends the loop after that read.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.wait(), timeout=remaining)

    async def _read_now(self, key: str, after: int, limit: int) -> list[JsonDict]:
        events = await self._read_events(key, after, limit)
        if not events and after > 0 and await self._last_seq(key) < after:
            events = await self._read_events(key, 0, limit)
        return events

    def per_key_entries(self) -> int:
        """How many per-session entries (locks, live readers) this process holds right now.

        Every one belongs to a turn or a reader in progress: none outlives it, so reading
        sessions (known or not) leaves this at 0 once the reads are answered.
        """
        return len(self._locks) + len(self._lock_users) + len(self._waiters) + len(self._readers)

    # One-time claims and indexes ----------------------------------------------------------
    @abstractmethod
    async def claim(self, namespace: str, key: str, ttl: float) -> bool:
        """Claim `key` once for `ttl` seconds: True the first time, False while it lives."""

    @abstractmethod
    async def claimed(self, namespace: str, key: str) -> bool:
        """True while a claim of `key` lives (it does not claim)."""

    async def claimed_many(self, namespace: str, keys: Sequence[str]) -> set[str]:
        """Which of `keys` have a live claim (a shared store asks in one round trip)."""
        return {key for key in keys if await self.claimed(namespace, key)}

    @abstractmethod
    async def index_set(self, namespace: str, key: str, value: str) -> None:
        """Map key -> value in a named index (e.g. a Genesys id -> a session key)."""

    @abstractmethod
    async def index_setdefault(self, namespace: str, key: str, value: str) -> str:
        """Map key -> value unless key is mapped already; return what the index holds (atomic)."""

    @abstractmethod
    async def index_get(self, namespace: str, key: str) -> str | None:
        """The value of key in the index, or None."""

    @abstractmethod
    async def index_delete(self, namespace: str, key: str) -> None:
        """Remove key from the index."""

    async def index_set_many(self, namespace: str, entries: dict[str, str]) -> None:
        """`index_set` of every entry, in one write where the backend can (all or none stored)."""
        for key, value in entries.items():
            await self.index_set(namespace, key, value)

    async def index_delete_many(self, namespace: str, keys: Sequence[str]) -> None:
        """Remove every one of `keys` from the index, in one write where the backend can."""
        for key in keys:
            await self.index_delete(namespace, key)

    @abstractmethod
    async def index_items(self, namespace: str) -> dict[str, str]:
        """Every entry of the index."""

    # Blobs ----------------------------------------------------------------------------------
    @abstractmethod
    async def put_blob(self, key: str, data: bytes, meta: JsonDict, ttl: float) -> None:
        """Keep `data` and `meta` under `key` for `ttl` seconds (replacing what it held)."""

    @abstractmethod
    async def get_blob(self, key: str) -> Blob | None:
        """The blob under `key`, or None when there is none or it has expired."""

    @abstractmethod
    async def delete_blob(self, key: str) -> None:
        """Forget the blob under `key` (nothing when there is none)."""

    def coordination(self) -> Coordination:
        """Leases and nudges between replicas; a store that is not shared has one replica."""
        if self._coordination is None:
            self._coordination = LocalCoordination()
        return self._coordination

    # Per-session serialisation -------------------------------------------------------------
    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """Serialise turns of one session within this process."""
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        self._lock_users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._lock_users[key] -= 1
            if self._lock_users[key] == 0:
                del self._lock_users[key]
                self._locks.pop(key, None)

    def lock_surely_free(self, key: str) -> bool:
        """True when no turn holds or waits for the session's lock; a shared lock answers False."""
        return not self._lock_users.get(key)

    # Live notification (in-process; a shared backend overrides) -----------------------------
    def _waiter(self, key: str) -> asyncio.Event:
        event = self._waiters.get(key)
        if event is None:
            event = self._waiters[key] = asyncio.Event()
        return event

    @contextlib.contextmanager
    def _reading(self, key: str) -> Iterator[None]:
        self._readers[key] = self._readers.get(key, 0) + 1
        try:
            yield
        finally:
            left = self._readers[key] - 1
            if left:
                self._readers[key] = left
            else:
                del self._readers[key]
                self._waiters.pop(key, None)

    def _notify(self, key: str) -> None:
        event = self._waiters.pop(key, None)
        if event is not None:
            event.set()

    def _wake_all(self) -> None:
        for key in list(self._waiters):
            self._notify(key)


def _raise_if_cancelled() -> None:
    """Raise CancelledError in a task that was cancelled but carries on.

    redis-py can swallow a cancellation that arrives while a command is being sent: the reader
    would then wait out its whole long-poll (a closed socket's feed holding a shutdown for 25 s).
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError

