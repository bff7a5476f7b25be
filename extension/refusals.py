"""The refusal every layer may raise for a request it will not take: a status and a message."""

from __future__ import annotations

# What a 503 for a failing store asks clients (and Genesys) to wait before retrying, in seconds.
STORE_RETRY_AFTER = "5"


class BadInput(Exception):
    """A request the route refuses; `status`, a message that says what is wrong, and for a refusal
    that passes with time (429, 503) how many seconds to wait (`Retry-After`)."""

    def __init__(self, message: str, status: int = 400, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after
