"""A failure that repeats is logged once with a count, not once a pass with a traceback.

Background loops (the cluster duties, the reconciler, the notifications channels, the outbox)
try again every second or so while Redis or Genesys is down. Each owns one `RepeatedFailure`:
the first failure is logged at once, a failure that goes on is logged again once per
`every` seconds with how many passes failed since, and the first success after failures
says so ("recovered after N failures"). The traceback of the first failure goes to DEBUG.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

REMIND_SECONDS = 60.0


class RepeatedFailure:
    """The log lines of one repeating job: `failed(exc)` after each failed pass, `succeeded()` after each good one."""

    def __init__(self, logger: logging.Logger, what: str, *, level: int = logging.ERROR,
                 every: float = REMIND_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.what = what
        self.level = level
        self.every = every
        self.clock = clock
        self.failures = 0
        self._unlogged = 0
        self._logged_at = 0.0

    def failed(self, exc: BaseException) -> None:
        self.failures += 1
        self._unlogged += 1
        now = self.clock()
        if self.failures == 1:
            self.logger.log(self.level, "%s failed: %s", self.what, _said(exc),
                            extra={"failures": 1})
            self.logger.debug("%s failed", self.what, exc_info=exc)
        elif now - self._logged_at >= self.every:
            self.logger.log(self.level, "%s still failing (%d failures in a row, %d since the last line): %s",
                            self.what, self.failures, self._unlogged, _said(exc),
                            extra={"failures": self.failures})
        else:
            return
        self._logged_at, self._unlogged = now, 0

    def succeeded(self) -> None:
        if self.failures:
            self.logger.warning("%s recovered after %d failure(s)", self.what, self.failures,
                                extra={"failures": self.failures})
            self.failures = self._unlogged = 0


def _said(exc: BaseException) -> str:
    text = str(exc)
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


@dataclass
class StoreFailures:
    """The store failures the app answered with 503 since it last logged one (app.py)."""

    count: int = 0
    logged: float | None = None
