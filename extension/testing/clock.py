"""A clock that moves only when a test advances it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(order=True)
class _Sleeper:
    deadline: float
    order: int
    woken: asyncio.Future[None] = field(compare=False)
    task: asyncio.Task[Any] | None = field(compare=False)


class ManualClock:
    """Monotonic time starts at 0 and wall time at `wall` (now by default); both move only in `advance`.

    `advance` lets the tasks already scheduled run first, then wakes the sleepers it passes one at a
    time, in deadline order (those due together in the order they slept), and lets each woken task
    run until it ends or it (or a task it waits for) sleeps on this clock again: any sleep that
    starts meanwhile counts. A task waiting for anything else is left to run on its own after
    `settle` real seconds.
    """

    def __init__(self, wall: float | None = None, settle: float = 5.0) -> None:
        self._now = 0.0
        self._wall = time.time() if wall is None else wall
        self.settle = settle
        self._sleepers: list[_Sleeper] = []
        self._order = itertools.count()
        self._settled: asyncio.Future[None] | None = None  # of the task `advance` woke last

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._wall + self._now

    async def sleep(self, seconds: float) -> None:
        task = asyncio.current_task()
        _resolve(self._settled)  # back asleep: the advance that woke a task goes on
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sleeper = _Sleeper(self._now + seconds, next(self._order), woken, task)
        heapq.heappush(self._sleepers, sleeper)
        try:
            await woken
        finally:
            if sleeper in self._sleepers:  # cancelled before its time
                self._sleepers.remove(sleeper)
                heapq.heapify(self._sleepers)

    async def wait_for(self, awaitable: Awaitable[T], seconds: float) -> T:
        """`awaitable`'s result, or TimeoutError (and `awaitable` cancelled) once `advance` passes
        `seconds`; the waiting task counts as a sleeper of this clock meanwhile."""
        inner: asyncio.Future[T] = asyncio.ensure_future(awaitable)
        _resolve(self._settled)  # back asleep: the advance that woke a task goes on
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sleeper = _Sleeper(self._now + max(0.0, seconds), next(self._order), woken, asyncio.current_task())
        heapq.heappush(self._sleepers, sleeper)
        try:
            racers: list[asyncio.Future[Any]] = [inner, woken]
            await asyncio.wait(racers, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if sleeper in self._sleepers:
                self._sleepers.remove(sleeper)
                heapq.heapify(self._sleepers)
            if not inner.done():
                inner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await inner
        if inner.cancelled() and woken.done():
            raise TimeoutError
        return inner.result()

    def asleep(self, task: asyncio.Task[Any] | None) -> bool:
        """True while `task` sleeps on this clock."""
        return task is not None and any(s.task is task for s in self._sleepers)

    def deadlines(self) -> list[float]:
        """The remaining seconds of every sleeper, soonest first."""
        return sorted(s.deadline - self._now for s in self._sleepers)

    async def advance(self, seconds: float) -> None:
        """Move time on by `seconds`, waking and settling each sleeper due by then (see the class)."""
        target = self._now + seconds
        await asyncio.sleep(0)  # tasks already scheduled reach their first sleep
        while self._sleepers and self._sleepers[0].deadline <= target:
            sleeper = heapq.heappop(self._sleepers)
            self._now = max(self._now, sleeper.deadline)
            if sleeper.woken.done():
                continue
            task = sleeper.task
            settled = self._settled = asyncio.get_running_loop().create_future()
            ended = functools.partial(_ended, settled)
            if task is not None:
                task.add_done_callback(ended)
            sleeper.woken.set_result(None)
            if task is None:
                _resolve(settled)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(settled), self.settle)
            self._settled = None
            if task is not None:
                task.remove_done_callback(ended)
        self._now = target
        await asyncio.sleep(0)


def _resolve(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


def _ended(settled: asyncio.Future[None], task: asyncio.Task[Any]) -> None:
    _resolve(settled)
