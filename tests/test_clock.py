"""The manual clock: sleepers wake in deadline order, only when a test advances time."""

from __future__ import annotations

import asyncio
import time

from extension.clock import SYSTEM_CLOCK
from extension.testing.clock import ManualClock


async def test_sleepers_wake_when_time_passes_their_deadline_in_order() -> None:
    clock = ManualClock(wall=1000.0)
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("late", 3.0), ("early", 1.0), ("also-1", 1.0))]
    await asyncio.sleep(0)
    assert clock.deadlines() == [1.0, 1.0, 3.0]
    await clock.advance(0.5)
    assert woke == [] and clock.monotonic() == 0.5 and clock.time() == 1000.5
    await clock.advance(0.5)
    assert woke == [("early", 1.0), ("also-1", 1.0)]
    await clock.advance(10)
    assert woke[-1] == ("late", 3.0) and clock.monotonic() == 11.0
    await asyncio.gather(*tasks)
    assert clock.deadlines() == []


async def test_a_sleeper_woken_by_advance_sleeps_again_within_the_same_advance() -> None:
    clock = ManualClock()
    ticks: list[float] = []

    async def loop() -> None:
        while True:
            await clock.sleep(1.0)
            ticks.append(clock.monotonic())

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    await clock.advance(3.5)
    assert ticks == [1.0, 2.0, 3.0]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert clock.deadlines() == []  # a cancelled sleeper is forgotten


async def test_the_system_clock_sleeps_for_real() -> None:
    before = SYSTEM_CLOCK.monotonic()
    await SYSTEM_CLOCK.sleep(0.01)
    assert SYSTEM_CLOCK.monotonic() - before >= 0.01
    assert abs(SYSTEM_CLOCK.time() - time.time()) < 1


async def test_advance_returns_once_each_woken_task_ended_or_sleeps_on_the_clock_again() -> None:
    clock = ManualClock()
    done: list[str] = []

    async def timer() -> None:
        await clock.sleep(1.0)
        await asyncio.sleep(0.05)  # real waiting, as for a store or an HTTP call
        done.append("timer")

    async def loop() -> None:
        while True:
            await clock.sleep(1.0)
            await asyncio.sleep(0.05)
            done.append("loop")

    tasks = [asyncio.create_task(timer()), asyncio.create_task(loop())]
    await asyncio.sleep(0)
    await clock.advance(1.0)
    assert done == ["timer", "loop"] and tasks[0].done() and clock.deadlines() == [1.0]
    tasks[1].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_woken_task_that_waits_for_something_else_holds_advance_at_most_settle_seconds() -> None:
    clock = ManualClock(settle=0.05)
    never = asyncio.Event()

    async def stuck() -> None:
        await clock.sleep(1.0)
        await never.wait()

    task = asyncio.create_task(stuck())
    await asyncio.sleep(0)
    await clock.advance(2.0)
    assert clock.monotonic() == 2.0 and not task.done()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_wait_for_gives_the_result_in_time_and_times_out_only_when_advanced_past_its_limit() -> None:
    clock = ManualClock()
    arrived: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    outcomes: list[object] = []

    async def waiter(awaitable: asyncio.Future[str], seconds: float) -> None:
        try:
            outcomes.append(await clock.wait_for(awaitable, seconds))
        except TimeoutError:
            outcomes.append(("timed out", clock.monotonic()))

    quick = asyncio.create_task(waiter(arrived, 5.0))
    await asyncio.sleep(0)
    arrived.set_result("frame")
    await quick
    assert outcomes == ["frame"] and clock.deadlines() == []  # no timer left behind

    never: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    slow = asyncio.create_task(waiter(never, 5.0))
    await asyncio.sleep(0.05)  # real time passes: nothing happens
    assert outcomes == ["frame"] and clock.deadlines() == [5.0]
    await clock.advance(4.9)
    assert outcomes == ["frame"]
    await clock.advance(0.1)  # advance returns once the woken waiter has gone on
    assert outcomes == ["frame", ("timed out", 5.0)] and never.cancelled()
    await slow


async def test_the_system_clock_wait_for_times_out_for_real() -> None:
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    try:
        await SYSTEM_CLOCK.wait_for(never, 0.01)
    except TimeoutError:
        pass
    else:
        raise AssertionError("no timeout")
    assert never.cancelled()
