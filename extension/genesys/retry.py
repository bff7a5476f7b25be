"""When and how long to retry a Genesys call: 429 waits `Retry-After`, 5xx and network backoff."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from .errors import GenesysRateLimited, GenesysServerError, GenesysUnavailable

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]


def is_retryable(exc: BaseException) -> bool:
    """Rate limits, server errors and unreachable hosts are worth another try; nothing else is."""
    return isinstance(exc, GenesysRateLimited | GenesysServerError | GenesysUnavailable)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying one logical call (attempts and total seconds, sleeps included)."""

    max_attempts: int = 4
    max_total_seconds: float = 30.0
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    jitter: float = 0.5
    # Injected so tests run without waiting and can assert every wait.
    sleep: Sleep = field(default=asyncio.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    rand: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if min(self.max_total_seconds, self.backoff_base, self.backoff_max, self.jitter) < 0:
            raise ValueError("RetryPolicy durations must not be negative")

    def wait_for(self, exc: BaseException | None, attempt_number: int) -> float:
        """Seconds to wait after failed attempt `attempt_number` (1-based) raised `exc`."""
        if isinstance(exc, GenesysRateLimited) and exc.retry_after is not None:
            return float(exc.retry_after)
        backoff = self.backoff_base * 2.0 ** (attempt_number - 1)
        return min(self.backoff_max, backoff + self.jitter * self.rand())

    async def run(self, attempt: Callable[[], Awaitable[T]], gate: RateGate | None = None, *,
                  first_failure: Exception | None = None, started: float | None = None) -> T:
        """Call `attempt` until it succeeds, fails for good, or the bounds are reached.

        `first_failure` is what a first attempt made by the caller (at `started`) raised: the
        retries go on from there, within the same bounds.
        """
        started = self.clock() if started is None else started
        if gate is not None:
            attempt = gate.guard(attempt, started + self.max_total_seconds)
        # The first attempt runs without tenacity: most calls succeed at once, and building the
        # retry machinery for each of them is measurable on the webhook hot path (receipts).
        try:
            if first_failure is not None:
                raise first_failure
            return await attempt()
        except Exception as exc:
            if not is_retryable(exc) or self.max_attempts <= 1:
                raise
            pause = self.wait_for(exc, 1)
            if self.clock() - started + pause > self.max_total_seconds:
                raise
        await self.sleep(pause)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return self.wait_for(exc, state.attempt_number + 1)

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number + 1 >= self.max_attempts:
                return True
            # Give up now rather than sleep past the budget (a long Retry-After included).
            spent = self.clock() - started
            return spent + state.upcoming_sleep > self.max_total_seconds

        retrying = AsyncRetrying(
            stop=stop,
            wait=wait,
            retry=retry_if_exception(is_retryable),
            sleep=self.sleep,
            reraise=True,
        )
        return await retrying(attempt)


# Genesys counts API rate limits per OAuth client and organisation, not per call: after a 429 on
# one call, every other call made with the same client would be refused until Retry-After expires.
class RateGate:
    """A "not before" instant shared by every call on one client, set by any 429's Retry-After."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._not_before = float("-inf")

    def hold(self, seconds: float) -> None:
        """No attempt may start in the next `seconds` (a later instant already set is kept)."""
        self._not_before = max(self._not_before, self._clock() + seconds)

    def remaining(self) -> float:
        """Seconds until attempts may start again (0 when they may start now)."""
        return max(0.0, self._not_before - self._clock())

    async def wait(self, deadline: float) -> None:
        """Return once attempts may start; GenesysRateLimited at once if that is past `deadline`."""
        # A loop: another call's 429 may push the instant further while this one sleeps.
        while (left := self.remaining()) > 0:
            if self._clock() + left > deadline:
                raise GenesysRateLimited(
                    f"rate limited by Genesys for another {left:.1f} s", retry_after=math.ceil(left)
                )
            await self._sleep(left)

    def guard(self, attempt: Callable[[], Awaitable[T]], deadline: float) -> Callable[[], Awaitable[T]]:
        """`attempt`, started only when the gate is open, holding it on a 429 with Retry-After."""

        async def gated() -> T:
            await self.wait(deadline)
            try:
                return await attempt()
            except GenesysRateLimited as exc:
                if exc.retry_after is not None:
                    self.hold(float(exc.retry_after))
                raise

        return gated
