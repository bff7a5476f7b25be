"""Who follows each handover: the parts told when one starts, has user messages to send, or ends.

The provider is given one `Followers` when it is built; each part that follows handovers (the
outbox sender, the end detector, the notifications duties) adds its callbacks when it is built
itself. Nothing is set on the provider from outside afterwards.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from .state import HandoverState

Started = Callable[[str, str], Awaitable[None]]  # (connection, conversation id)
Queued = Callable[[str], Awaitable[None]]  # the session key id whose outbox has messages waiting
Ended = Callable[[HandoverState], Awaitable[None]]


class Followers:
    """Callback lists, called in the order the parts were added."""

    def __init__(self) -> None:
        self._started: list[Started] = []
        self._queued: list[Queued] = []
        self._ended: list[Ended] = []

    def follow(self, *, started: Started | None = None, queued: Queued | None = None,
               ended: Ended | None = None) -> None:
        if started is not None:
            self._started.append(started)
        if queued is not None:
            self._queued.append(queued)
        if ended is not None:
            self._ended.append(ended)

    async def started(self, connection: str, conversation_id: str) -> None:
        """A handover's Genesys conversation exists (its start is committed)."""
        for callback in self._started:
            await callback(connection, conversation_id)

    async def queued(self, key_id: str) -> None:
        """A session's outbox holds user messages to send (they are committed)."""
        for callback in self._queued:
            await callback(key_id)

    async def ended(self, state: HandoverState) -> None:
        """A handover ended and its indexes are gone."""
        for callback in self._ended:
            await callback(state)
