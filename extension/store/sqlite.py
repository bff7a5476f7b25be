"""The embedded default store: one SQLite file in WAL mode."""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from .base import Blob, Claim, JsonDict, Store, StoreError, last_used

log = logging.getLogger("extension.store.sqlite")
P = ParamSpec("P")
T = TypeVar("T")
# A failed write (disk full, read-only file) keeps /readyz at 503 for this long, or until a write succeeds.
WRITE_FAILURE_SECONDS = 30.0

# Expired claims are deleted once per this many new claims, so the table holds about the live ones.
CLAIM_SWEEP_EVERY = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (key TEXT PRIMARY KEY, doc TEXT NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_by_updated ON sessions (updated);
CREATE TABLE IF NOT EXISTS events (key TEXT NOT NULL, seq INTEGER NOT NULL, doc TEXT NOT NULL,
                                   PRIMARY KEY (key, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claims (ns TEXT NOT NULL, key TEXT NOT NULL, expires REAL NOT NULL,
                                   PRIMARY KEY (ns, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS indexes (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                                    PRIMARY KEY (ns, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, expires REAL NOT NULL, meta TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS blobs_by_expiry ON blobs (expires);
"""


def translated(method: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """SQLite failures surface as StoreError, like every backend's; a failed write is remembered."""

    @functools.wraps(method)
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except sqlite3.Error as exc:
            store = args[0]
            if isinstance(store, SqliteStore) and method.__name__ not in _READS:
                store.write_failure = (time.monotonic(), f"{exc.__class__.__name__}: {exc}")
            raise StoreError(f"SQLite failed: {exc.__class__.__name__}: {exc}") from exc

    return call


_READS = {"get_session", "idle_sessions", "_last_seq", "_read_events", "claimed", "index_get", "index_items",
          "get_blob"}


class SqliteStore(Store):
    """SQLite behind the Store interface.

    Statements run on the event loop thread: each is a few indexed row operations on a local
    file, cheaper than a hop to a worker thread. WAL with synchronous=NORMAL keeps every
    committed transaction across a process crash (only a power loss can lose the last ones).
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._claims_since_sweep = 0
        # When and how the last write failed; cleared by the next write that succeeds.
        self.write_failure: tuple[float, str] | None = None

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError("the SQLite store is not open")
        return self._db

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=5000")
            db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open SQLite store at {self.path}: {exc}") from None
        self._db = db

    async def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    async def ping(self) -> bool:
        try:
            self.db.execute("SELECT 1").fetchone()
            return True
        except (sqlite3.Error, StoreError):
            return False

    async def failure(self) -> str | None:
        if not await self.ping():
            return "SQLite unreachable"
        if self.write_failure is not None:
            when, error = self.write_failure
            if time.monotonic() - when < WRITE_FAILURE_SECONDS:
                return f"SQLite writes failing ({error})"
            self.write_failure = None
        return None

    def _transaction_failed(self, db: sqlite3.Connection) -> None:
        """Roll back what is left of a failed transaction without hiding why it failed.

        SQLite rolls some failures (a full disk, among them) back by itself: a ROLLBACK then fails
        with "no transaction is active", and that must not replace the real error.
        """
        if not db.in_transaction:
            return
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.warning("rollback after a failed SQLite transaction failed too: %s", exc)

    @translated
    async def get_session(self, key: str) -> JsonDict | None:
        row = self.db.execute("SELECT doc FROM sessions WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    @translated
    async def commit(self, key: str, session: JsonDict | None, events: list[JsonDict], *,
                     ends_turn: bool = False, claims: Sequence[Claim] = ()) -> list[JsonDict]:
        db = self.db
        stored: list[JsonDict] = []
        db.execute("BEGIN IMMEDIATE")
        try:
            if session is not None:
                db.execute(
                    "INSERT INTO sessions (key, doc, updated) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET doc = excluded.doc, updated = excluded.updated",
                    (key, json.dumps(session, separators=(",", ":")), last_used(session)),
                )
            if events:
                row = db.execute("SELECT MAX(seq) FROM events WHERE key = ?", (key,)).fetchone()
                seq = row[0] or 0
                rows = []
                for event in events:
                    seq += 1
                    doc = {**event, "seq": seq}
                    stored.append(doc)
                    rows.append((key, seq, json.dumps(doc, separators=(",", ":"))))
                db.executemany("INSERT INTO events (key, seq, doc) VALUES (?, ?, ?)", rows)
                if seq > self.event_limit:
                    db.execute("DELETE FROM events WHERE key = ? AND seq <= ?", (key, seq - self.event_limit))
            if claims:
                now = time.time()
                db.executemany("INSERT INTO claims (ns, key, expires) VALUES (?, ?, ?) "
                               "ON CONFLICT(ns, key) DO UPDATE SET expires = excluded.expires",
                               [(namespace, name, now + ttl) for namespace, name, ttl in claims])
                self._count_claims(len(claims), now)
            db.execute("COMMIT")
        except BaseException:
            self._transaction_failed(db)
            raise
        self.write_failure = None
        if stored:
            self._notify(key)
        return stored

    @translated
    async def delete_session(self, key: str) -> None:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM sessions WHERE key = ?", (key,))
            db.execute("DELETE FROM events WHERE key = ?", (key,))
            db.execute("COMMIT")
        except BaseException:
            self._transaction_failed(db)
            raise

    @translated
    async def idle_sessions(self, before: float, limit: int) -> list[str]:
        rows = self.db.execute(
            "SELECT key FROM sessions WHERE updated < ? ORDER BY updated LIMIT ?", (before, limit)
        ).fetchall()
        return [str(r[0]) for r in rows]

    @translated
    async def _last_seq(self, key: str) -> int:
        row = self.db.execute("SELECT MAX(seq) FROM events WHERE key = ?", (key,)).fetchone()
        return int(row[0] or 0)

    @translated
    async def _read_events(self, key: str, after: int, limit: int) -> list[JsonDict]:
        rows = self.db.execute(
            "SELECT doc FROM events WHERE key = ? AND seq > ? ORDER BY seq LIMIT ?", (key, after, limit)
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    @translated
    async def claim(self, namespace: str, key: str, ttl: float) -> bool:
        now = time.time()
        cur = self.db.execute(
            "INSERT INTO claims (ns, key, expires) VALUES (?, ?, ?) "
            "ON CONFLICT(ns, key) DO UPDATE SET expires = excluded.expires WHERE claims.expires <= ?",
            (namespace, key, now + ttl, now),
        )
        self._count_claims(1, now)
        return cur.rowcount == 1

    def _count_claims(self, written: int, now: float) -> None:
        """Expired claims are deleted every so many claims written."""
        self._claims_since_sweep += written
        if self._claims_since_sweep >= CLAIM_SWEEP_EVERY:
            self._claims_since_sweep = 0
            self.db.execute("DELETE FROM claims WHERE expires <= ?", (now,))

    @translated
    async def claimed(self, namespace: str, key: str) -> bool:
        row = self.db.execute("SELECT 1 FROM claims WHERE ns = ? AND key = ? AND expires > ?",
                              (namespace, key, time.time())).fetchone()
        return row is not None

    @translated
    async def index_set(self, namespace: str, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO indexes (ns, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT(ns, key) DO UPDATE SET value = excluded.value",
            (namespace, key, value),
        )

    @translated
    async def index_setdefault(self, namespace: str, key: str, value: str) -> str:
        self.db.execute("INSERT INTO indexes (ns, key, value) VALUES (?, ?, ?) ON CONFLICT(ns, key) DO NOTHING",
                        (namespace, key, value))
        stored = await self.index_get(namespace, key)
        return value if stored is None else stored

    @translated
    async def index_get(self, namespace: str, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM indexes WHERE ns = ? AND key = ?", (namespace, key)).fetchone()
        return str(row[0]) if row else None

    @translated
    async def index_delete(self, namespace: str, key: str) -> None:
        self.db.execute("DELETE FROM indexes WHERE ns = ? AND key = ?", (namespace, key))

    @translated
    async def index_set_many(self, namespace: str, entries: dict[str, str]) -> None:
        if not entries:
            return
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT INTO indexes (ns, key, value) VALUES (?, ?, ?) "
                           "ON CONFLICT(ns, key) DO UPDATE SET value = excluded.value",
                           [(namespace, key, value) for key, value in entries.items()])
            db.execute("COMMIT")
        except BaseException:
            self._transaction_failed(db)
            raise

    @translated
    async def index_delete_many(self, namespace: str, keys: Sequence[str]) -> None:
        if not keys:
            return
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("DELETE FROM indexes WHERE ns = ? AND key = ?", [(namespace, key) for key in keys])
            db.execute("COMMIT")
        except BaseException:
            self._transaction_failed(db)
            raise

    @translated
    async def index_items(self, namespace: str) -> dict[str, str]:
        rows = self.db.execute("SELECT key, value FROM indexes WHERE ns = ?", (namespace,)).fetchall()
        return {str(k): str(v) for k, v in rows}

    @translated
    async def put_blob(self, key: str, data: bytes, meta: JsonDict, ttl: float) -> None:
        now = time.time()
        # Expired blobs go whenever one is added, so the table holds about the live ones.
        self.db.execute("DELETE FROM blobs WHERE expires <= ?", (now,))
        self.db.execute("INSERT OR REPLACE INTO blobs (key, expires, meta, data) VALUES (?, ?, ?, ?)",
                        (key, now + ttl, json.dumps(meta, separators=(",", ":")), bytes(data)))

    @translated
    async def get_blob(self, key: str) -> Blob | None:
        row = self.db.execute("SELECT meta, data FROM blobs WHERE key = ? AND expires > ?",
                              (key, time.time())).fetchone()
        return Blob(bytes(row[1]), json.loads(row[0])) if row else None

    @translated
    async def delete_blob(self, key: str) -> None:
        self.db.execute("DELETE FROM blobs WHERE key = ?", (key,))
