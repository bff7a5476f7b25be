"""The refusal every layer may raise for a request it will not take: a status and a message."""

from __future__ import annotations


class BadInput(Exception):
    """A request the route refuses; `status` and a message that says what is wrong."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
