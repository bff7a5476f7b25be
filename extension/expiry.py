"""Ends sessions nobody has used for `[store] session_idle_seconds`, once per cluster."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from .clock import SYSTEM_CLOCK, Clock
from .repeating import RepeatedFailure
from .sessions import Sessions
from .stopping import cancel_and_wait

log = logging.getLogger("extension.expiry")

DUTY = "session-expiry"
BATCH = 100


class SessionExpiry:
    """A loop that deletes idle sessions; with several replicas, the lease holder does it."""

    def __init__(self, sessions: Sessions, idle_seconds: float, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.sessions = sessions
        self.clock = clock
        self.idle_seconds = idle_seconds
        # Often enough that a session outlives its idle time by a quarter at most (and a minute).
        self.interval = min(60.0, max(0.05, idle_seconds / 4))
        self._task: asyncio.Task[None] | None = None
        self._failures = RepeatedFailure(log, "session expiry pass")

    def start(self) -> None:
        if self.idle_seconds > 0:
            self._task = asyncio.create_task(self._run(), name="session-expiry")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        with contextlib.suppress(Exception):
            await self.sessions.store.coordination().release(DUTY)

    async def _run(self) -> None:
        coordination = self.sessions.store.coordination()
        while True:
            await self.clock.sleep(self.interval)
            try:
                # The lease outlives the pass, so that two replicas never sweep at once.
                if await coordination.acquire(DUTY, max(10.0, self.interval * 3)):
                    await self.sweep()
            except Exception as exc:
                self._failures.failed(exc)
            else:
                self._failures.succeeded()

    async def sweep(self) -> int:
        """Expire idle sessions in batches until a batch comes back short; returns how many."""
        total = 0
        while True:
            expired = await self.sessions.expire_idle(self.idle_seconds, batch=BATCH)
            total += expired
            if expired < BATCH:
                return total
