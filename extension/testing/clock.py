"""A clock that moves only when a test advances it."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time

# Event loop rounds given to woken sleepers after each wake-up (they run up to their next await
# of real I/O; a test waits for the rest with `eventually`).
ROUNDS = 20


class ManualClock:
    """Monotonic time starts at 0 and wall time at `wall`; both move only in `advance`."""

    def __init__(self, wall: float | None = None) -> None:
        self._now = 0.0
        self._wall = time.time() if wall is None else wall
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._wall + self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), woken))
        try:
            await woken
        finally:
            if not woken.done():  # cancelled: forget the sleeper
                woken.cancel()
            self._sleepers = [s for s in self._sleepers if s[2] is not woken]
            heapq.heapify(self._sleepers)

    def deadlines(self) -> list[float]:
        """The remaining seconds of every sleeper, soonest first."""
        return sorted(deadline - self._now for deadline, _, woken in self._sleepers if not woken.done())

    async def advance(self, seconds: float) -> None:
        """Move time on by `seconds`, waking the sleepers due by then in deadline order (those due at
        the same moment in the order they slept); each wake-up lets the loop run a few rounds."""
        target = self._now + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, woken = heapq.heappop(self._sleepers)
            if woken.done():
                continue
            self._now = max(self._now, deadline)
            woken.set_result(None)
            await _rounds()
        self._now = target
        await _rounds()


async def _rounds() -> None:
    for _ in range(ROUNDS):
        await asyncio.sleep(0)
