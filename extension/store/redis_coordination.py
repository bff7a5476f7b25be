"""Leases and nudges between replicas, on the Redis store's client (redis-py locks and pub/sub)."""

from __future__ import annotations

import os
import secrets
import socket
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import LockError

from .coordination import Coordination
from .redis_errors import translated


class LeaseStore(Protocol):
    """What the coordination uses of the Redis store: its control client and its key names."""

    @property
    def control(self) -> aioredis.Redis: ...

    def k(self, kind: str, name: str) -> str: ...


class RedisCoordination(Coordination):
    """A lease is a redis-py lock whose token names the replica: `SET NX PX`, extended while held."""

    def __init__(self, store: LeaseStore) -> None:
        # Host and pid say who holds what (operators read it with GET); the suffix keeps a restarted
        # process with a recycled pid from inheriting its predecessor's leases.
        super().__init__(f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}")
        self.store = store
        self._leases: dict[str, Any] = {}

    @translated
    async def acquire(self, name: str, ttl: float) -> bool:
        if name in self._leases and await self.renew(name, ttl):
            return True
        lease = self.store.control.lock(self.store.k("lease", name), timeout=ttl, thread_local=False)
        if await lease.acquire(blocking=False, token=self.replica):
            self._leases[name] = lease
            return True
        return False

    @translated
    async def renew(self, name: str, ttl: float) -> bool:
        lease = self._leases.get(name)
        if lease is None:
            return False
        try:
            await lease.extend(ttl, replace_ttl=True)
        except LockError:
            self._leases.pop(name, None)
            return False
        return True

    @translated
    async def release(self, name: str) -> None:
        lease = self._leases.pop(name, None)
        if lease is not None:
            try:
                await lease.release()
            except LockError:
                pass  # already expired, maybe taken by another replica: nothing of ours to remove

    @translated
    async def holder(self, name: str) -> str | None:
        value = await self.store.control.get(self.store.k("lease", name))
        return str(value) if value is not None else None

    @translated
    async def publish(self, topic: str, message: str) -> None:
        await self.store.control.publish(self.store.k("chan", "bus"), f"{topic}\n{message}")
