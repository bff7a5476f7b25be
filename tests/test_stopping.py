"""A background loop is stopped for sure, even when a library swallowed its cancellation."""

from __future__ import annotations

import asyncio
import logging

import pytest

from extension.stopping import cancel_and_wait


async def test_a_loop_that_swallowed_its_cancellation_is_cancelled_again() -> None:
    swallowed = 0

    async def renewing() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)  # a read of a reply
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1  # as redis-py may: the cancellation is lost, the loop goes on

    task = asyncio.create_task(renewing())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait(task), 5)
    assert swallowed == 1 and task.cancelled()


async def test_a_task_that_will_not_end_is_logged_and_left(caplog: pytest.LogCaptureFixture) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="extension.stopping"):
        await cancel_and_wait(task, within=0.2)
    assert "task stubborn still runs 0.2 s after it was cancelled" in caplog.text and not task.done()
    release.set()
    task.cancel()
    await asyncio.wait({task}, timeout=1)
    assert task.done()


async def test_a_task_that_failed_is_stopped_quietly() -> None:
    async def failing() -> None:
        raise RuntimeError("the store went away")

    task = asyncio.create_task(failing())
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    await cancel_and_wait(None)
    assert isinstance(task.exception(), RuntimeError)
