"""An in-process store for tests and throw-away runs; nothing survives the process."""

from __future__ import annotations

import copy
import time

from .base import JsonDict, Store


class MemoryStore(Store):
    """Dictionaries behind the Store interface."""

    def __init__(self) -> None:
        super().__init__()
        self._sessions: dict[str, JsonDict] = {}
        self._events: dict[str, list[JsonDict]] = {}
        self._claims: dict[tuple[str, str], float] = {}
        self._indexes: dict[str, dict[str, str]] = {}

    def __repr__(self) -> str:
        return "MemoryStore()"

    async def ping(self) -> bool:
        return True

    async def get_session(self, key: str) -> JsonDict | None:
        doc = self._sessions.get(key)
        return copy.deepcopy(doc) if doc is not None else None

    async def commit(self, key: str, session: JsonDict | None, events: list[JsonDict]) -> list[JsonDict]:
        log = self._events.setdefault(key, [])
        seq = log[-1]["seq"] if log else 0
        stored = []
        for event in events:
            seq += 1
            stored.append({**copy.deepcopy(event), "seq": seq})
        if session is not None:
            self._sessions[key] = copy.deepcopy(session)
        log.extend(stored)
        if stored:
            self._notify(key)
        return copy.deepcopy(stored)

    async def delete_session(self, key: str) -> None:
        self._sessions.pop(key, None)
        self._events.pop(key, None)

    async def _read_events(self, key: str, after: int, limit: int) -> list[JsonDict]:
        log = self._events.get(key, [])
        # seq is dense from 1, so the slice starts at index `after`.
        return copy.deepcopy(log[max(after, 0): max(after, 0) + limit])

    async def claim(self, namespace: str, key: str, ttl: float) -> bool:
        now = time.time()
        expires = self._claims.get((namespace, key))
        if expires is not None and expires > now:
            return False
        self._claims[(namespace, key)] = now + ttl
        return True

    async def index_set(self, namespace: str, key: str, value: str) -> None:
        self._indexes.setdefault(namespace, {})[key] = value

    async def index_get(self, namespace: str, key: str) -> str | None:
        return self._indexes.get(namespace, {}).get(key)

    async def index_delete(self, namespace: str, key: str) -> None:
        self._indexes.get(namespace, {}).pop(key, None)

    async def index_items(self, namespace: str) -> dict[str, str]:
        return dict(self._indexes.get(namespace, {}))
