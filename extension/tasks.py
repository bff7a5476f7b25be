"""Background tasks owned by the app: kept referenced, logged when they fail, stopped with it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from .stopping import cancel_and_wait
from .store import StoreError

log = logging.getLogger("extension.tasks")


class BackgroundTasks:
    """Fire-and-forget work that still ends cleanly with the application.

    A failure is logged with its traceback, unless it is a StoreError or one of `quiet` (errors
    whose message says it all, such as a third party's refusal): those are logged in one line.
    """

    def __init__(self, name: str, quiet: tuple[type[Exception], ...] = ()) -> None:
        self.name = name
        self._quiet: tuple[type[Exception], ...] = (StoreError, *quiet)
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        exc = None if task.cancelled() else task.exception()
        if isinstance(exc, self._quiet):
            # Said by the store or a third party: the reason is the message, a traceback adds nothing.
            log.error("%s task %s failed: %s", self.name, task.get_name(), exc)
        elif exc is not None:
            log.error("%s task %s failed", self.name, task.get_name(), exc_info=exc)

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, grace: float = 5.0) -> None:
        """Let running work finish for up to `grace` seconds, then cancel what is left."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        await self.cancel()

    async def cancel(self) -> None:
        """Cancel what runs and wait for it to end (a swallowed cancellation is sent again)."""
        tasks = set(self._tasks)
        if tasks:
            await asyncio.gather(*(cancel_and_wait(task) for task in tasks))
