"""Send budgets: how many messages a session, and a connection, may send to Genesys a minute.

A token bucket: full at `per_minute`, refilled at `per_minute` a minute. A session's bucket is
kept in its handover state (stored with the turn, so every replica sees the same one); a
connection's is kept in each replica, in memory (one per connection).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Bucket:
    """Tokens left at `at` (a wall-clock time); a new bucket is full."""

    per_minute: int
    tokens: float | None = None
    at: float = 0.0

    def level(self, now: float) -> float:
        if self.tokens is None:
            return float(self.per_minute)
        return min(float(self.per_minute), self.tokens + max(now - self.at, 0.0) * self.per_minute / 60.0)

    def wait(self, cost: int, now: float) -> float:
        """Seconds until `cost` tokens are there (0 when they are now); a cost over the size needs a full bucket."""
        missing = min(cost, self.per_minute) - self.level(now)
        return 0.0 if missing <= 0 else missing * 60.0 / self.per_minute

    def take(self, cost: int, now: float) -> None:
        self.tokens, self.at = max(self.level(now) - min(cost, self.per_minute), 0.0), now


class OverBudget(Exception):
    """Sending now would pass a budget; `retry_after` seconds until it would not."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"send budget spent for {retry_after:.1f} s")
        self.retry_after = max(1, math.ceil(retry_after))


class SendBudgets:
    """The per-session and per-connection budgets, checked together and spent only together."""

    def __init__(self, session_per_minute: int, connection_per_minute: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.session_per_minute = session_per_minute
        self.connection_per_minute = connection_per_minute
        self.clock = clock
        self._connections: dict[str, Bucket] = {}

    def spend(self, session: Bucket, connection: str, cost: int) -> None:
        """Spend `cost` from both buckets, or raise OverBudget and spend nothing."""
        now = self.clock()
        shared = self._connections.setdefault(connection, Bucket(self.connection_per_minute))
        wait = max(session.wait(cost, now), shared.wait(cost, now))
        if wait > 0:
            raise OverBudget(wait)
        session.take(cost, now)
        shared.take(cost, now)

    def session_bucket(self, tokens: float | None, at: float) -> Bucket:
        return Bucket(self.session_per_minute, tokens, at)
