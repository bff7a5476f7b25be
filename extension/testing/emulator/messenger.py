"""The customer's side of messenger conversations: what reaches the messenger page, and long-polls."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from .state import Conversation
from .webhooks import DELIVERED, WebhookDelivery, encode


class MessengerFeed:
    """Wakes the messenger page's long-polls when a conversation changes; keeps agent typing."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._changed: dict[str, asyncio.Event] = {}
        self.typing: dict[str, float] = {}  # conversation id -> when the agent last typed
        self.delivered: list[WebhookDelivery] = []

    def deliver(self, conversation: Conversation, body: dict[str, Any]) -> WebhookDelivery:
        """An outbound message or event reaches the page (no webhook: the page reads the transcript)."""
        if body.get("type") == "Event":
            self.typing[conversation.id] = self._clock()
        delivery = WebhookDelivery(id=str(body["id"]), conversation_id=conversation.id,
                                   integration_id=conversation.integration_id, url="", body=body,
                                   raw=encode(body), signature="", outcome=DELIVERED)  # fmt: skip
        delivery.finished.set()
        self.delivered.append(delivery)
        self.notify(conversation.id)
        return delivery

    def notify(self, conversation_id: str) -> None:
        """Something changed in this conversation: answer its pending long-polls."""
        event = self._changed.pop(conversation_id, None)
        if event is not None:
            event.set()

    def wake_all(self) -> None:
        """Answer every pending long-poll now (the emulator is stopping)."""
        for conversation_id in list(self._changed):
            self.notify(conversation_id)

    async def wait(self, conversation_id: str, seconds: float) -> None:
        """Until the conversation changes or `seconds` pass."""
        event = self._changed.setdefault(conversation_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)
