"""Stopping a background loop for sure: a cancellation that a library swallowed is sent again.

redis-py may swallow a cancellation that lands while it reads a reply; a loop cancelled there goes
on to its next sleep, and whoever waits for it to end waits for ever (a lease's keeper held its
`holding` block open that way). `cancel_and_wait` cancels again until the task has ended.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("extension.stopping")

# How long a cancelled task gets before it is cancelled again: its own clean-up (a release, a
# close) is one short call, well within this.
RECANCEL_SECONDS = 0.5
STOP_SECONDS = 10.0


async def cancel_and_wait(task: asyncio.Task[Any] | None, within: float = STOP_SECONDS) -> None:
    """Cancel `task` and wait until it has ended, cancelling it again every RECANCEL_SECONDS; one
    still running after `within` seconds is logged and left. What it ended with is not raised."""
    if task is None:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not task.done():
        remaining = deadline - loop.time()
        if remaining <= 0:
            log.warning("task %s still runs %g s after it was cancelled; left to end by itself", task.get_name(),
                        within)
            return
        task.cancel()
        await asyncio.wait({task}, timeout=min(RECANCEL_SECONDS, remaining))
    if not task.cancelled():
        task.exception()  # retrieved: a loop being stopped may end with the error that stopped it
