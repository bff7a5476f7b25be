"""An in-process store for tests and throw-away runs; nothing survives the process."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from .base import Blob, Claim, JsonDict, Store, last_used

# Expired claims are swept after this many new claims (or half as many as are held, whichever is
# more: the sweep stays amortised O(1)), so memory stays bounded by about the live ones.
CLAIM_SWEEP_EVERY = 1000


def _dump(doc: JsonDict) -> str:
    return json.dumps(doc, separators=(",", ":"))


class MemoryStore(Store):
    """Dictionaries behind the Store interface.

    Documents are kept as JSON text, like the other backends: callers can never share state with
    the store by accident, values that are not JSON fail here as they would elsewhere, and
    encoding is cheaper than deep-copying on every read and write.
    """

    def __init__(self) -> None:
        super().__init__()
        self._sessions: dict[str, str] = {}
        self._updated: dict[str, float] = {}
        self._events: dict[str, list[tuple[int, str]]] = {}
        self._claims: dict[tuple[str, str], float] = {}
        self._claims_since_sweep = 0
        self._indexes: dict[str, dict[str, str]] = {}
        self._blobs: dict[str, tuple[float, bytes, str]] = {}

    def __repr__(self) -> str:
        return "MemoryStore()"

    async def ping(self) -> bool:
        return True

    async def get_session(self, key: str) -> JsonDict | None:
        doc = self._sessions.get(key)
        return json.loads(doc) if doc is not None else None

    async def commit(self, key: str, session: JsonDict | None, events: list[JsonDict], *,
                     ends_turn: bool = False, claims: Sequence[Claim] = ()) -> list[JsonDict]:
        log = self._events.get(key, [])
        seq = log[-1][0] if log else 0
        encoded = []
        for event in events:
            seq += 1
            encoded.append((seq, _dump({**event, "seq": seq})))
        if session is not None:
            self._sessions[key] = _dump(session)
            self._updated[key] = last_used(session)
        if encoded:
            log = self._events.setdefault(key, [])
            log.extend(encoded)
            del log[: -self.event_limit]
            self._notify(key)
        now = time.time()
        for namespace, name, ttl in claims:
            self._claims[(namespace, name)] = now + ttl
        self._count_claims(len(claims), now)
        return [json.loads(text) for _, text in encoded]

    async def delete_session(self, key: str) -> None:
        self._sessions.pop(key, None)
        self._updated.pop(key, None)
        self._events.pop(key, None)

    async def idle_sessions(self, before: float, limit: int) -> list[str]:
        idle = sorted((when, key) for key, when in self._updated.items() if when < before)
        return [key for _, key in idle[:limit]]

    async def _read_events(self, key: str, after: int, limit: int) -> list[JsonDict]:
        log = self._events.get(key, [])
        if not log:
            return []
        # seq is dense from the oldest kept event, so the slice starts `after - first + 1` in.
        start = max(after - log[0][0] + 1, 0)
        return [json.loads(text) for _, text in log[start: start + limit]]

    async def _last_seq(self, key: str) -> int:
        log = self._events.get(key)
        return log[-1][0] if log else 0

    async def claim(self, namespace: str, key: str, ttl: float) -> bool:
        now = time.time()
        expires = self._claims.get((namespace, key))
        if expires is not None and expires > now:
            return False
        self._claims[(namespace, key)] = now + ttl
        self._count_claims(1, now)
        return True

    def claims_kept(self) -> int:
        """How many claims are held in memory, expired ones not yet swept included."""
        return len(self._claims)

    def _count_claims(self, written: int, now: float) -> None:
        """Expired claims are dropped every so many claims written."""
        self._claims_since_sweep += written
        if self._claims_since_sweep >= max(CLAIM_SWEEP_EVERY, len(self._claims) // 2):
            self._claims_since_sweep = 0
            self._claims = {k: v for k, v in self._claims.items() if v > now}

    async def claimed(self, namespace: str, key: str) -> bool:
        expires = self._claims.get((namespace, key))
        return expires is not None and expires > time.time()

    async def index_set(self, namespace: str, key: str, value: str) -> None:
        self._indexes.setdefault(namespace, {})[key] = value

    async def index_setdefault(self, namespace: str, key: str, value: str) -> str:
        return self._indexes.setdefault(namespace, {}).setdefault(key, value)

    async def index_get(self, namespace: str, key: str) -> str | None:
        return self._indexes.get(namespace, {}).get(key)

    async def index_delete(self, namespace: str, key: str) -> None:
        self._indexes.get(namespace, {}).pop(key, None)

    async def index_set_many(self, namespace: str, entries: dict[str, str]) -> None:
        self._indexes.setdefault(namespace, {}).update(entries)

    async def index_delete_many(self, namespace: str, keys: Sequence[str]) -> None:
        index = self._indexes.get(namespace, {})
        for key in keys:
            index.pop(key, None)

    async def index_items(self, namespace: str) -> dict[str, str]:
        return dict(self._indexes.get(namespace, {}))

    async def put_blob(self, key: str, data: bytes, meta: JsonDict, ttl: float) -> None:
        now = time.time()
        # Expired blobs go whenever one is added: memory holds about the live ones.
        self._blobs = {k: v for k, v in self._blobs.items() if v[0] > now}
        self._blobs[key] = (now + ttl, bytes(data), _dump(meta))

    async def get_blob(self, key: str) -> Blob | None:
        held = self._blobs.get(key)
        if held is None or held[0] <= time.time():
            return None
        return Blob(held[1], json.loads(held[2]))

    async def delete_blob(self, key: str) -> None:
        self._blobs.pop(key, None)
