"""Signed webhook delivery with Genesys' retry policy, and a record of every attempt."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from .config import EmulatorConfig, IntegrationConfig
from .errors import EmulatorError
from .signing import SIGNATURE_HEADER, webhook_signature

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def encode(body: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON: differs from Python's default dump, so re-serialising breaks the HMAC."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass
class Attempt:
    """One POST of a webhook: the status answered, or the transport error."""

    time: float
    status: int | None = None
    error: str | None = None


@dataclass
class WebhookDelivery:
    """One webhook message and what became of it."""

    id: str
    conversation_id: str
    integration_id: str
    url: str
    body: dict[str, Any]
    raw: bytes
    signature: str
    redelivery: bool = False  # a copy sent again on purpose (fault injection)
    attempts: list[Attempt] = field(default_factory=list)
    outcome: str = PENDING
    finished: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def type(self) -> str:
        """Text, Structured, Event or Receipt."""
        return str(self.body.get("type", ""))

    async def wait(self) -> str:
        """Wait until delivered or given up; returns the outcome."""
        await self.finished.wait()
        return self.outcome


class WebhookSender:
    """Posts webhooks in order per conversation, retrying on timeout, 429 and 5xx."""

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float]) -> None:
        self._config = config
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent: list[WebhookDelivery] = []
        self.duplicates_pending = 0  # fault: send the next N messages twice

    async def start(self) -> None:
        """Open the HTTP session (called when the app starts)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        """Stop pending deliveries and close the session."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def send(
        self, integration: IntegrationConfig, conversation_id: str, body: dict[str, Any]
    ) -> WebhookDelivery:
        """Sign and queue one message; it is delivered in the background."""
        raw = encode(body)
        delivery = WebhookDelivery(
            id=str(body["id"]),
            conversation_id=conversation_id,
            integration_id=integration.id,
            url=integration.webhook_url,
            body=body,
            raw=raw,
            signature=webhook_signature(integration.webhook_secret, raw),
        )
        copies = [delivery]
        if self.duplicates_pending > 0:
            self.duplicates_pending -= 1
            copies.append(self._copy(delivery, integration))
        for item in copies:
            self._schedule(item)
        return delivery

    def resend(
        self, original: WebhookDelivery, integration: IntegrationConfig
    ) -> WebhookDelivery:
        """Send an already sent message again, same id and same bytes (Genesys' duplicates)."""
        copy = self._copy(original, integration)
        self._schedule(copy)
        return copy

    async def idle(self) -> None:
        """Wait until every queued delivery is finished (delivered or given up)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _copy(self, original: WebhookDelivery, integration: IntegrationConfig) -> WebhookDelivery:
        return WebhookDelivery(
            id=original.id,
            conversation_id=original.conversation_id,
            integration_id=original.integration_id,
            url=integration.webhook_url,
            body=original.body,
            raw=original.raw,
            signature=webhook_signature(integration.webhook_secret, original.raw),
            redelivery=True,
        )

    def _schedule(self, delivery: WebhookDelivery) -> None:
        self.sent.append(delivery)
        lock = self._locks.setdefault(delivery.conversation_id, asyncio.Lock())
        task = asyncio.get_running_loop().create_task(self._run(delivery, lock))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, delivery: WebhookDelivery, lock: asyncio.Lock) -> None:
        try:
            async with lock:
                delivery.outcome = await self._deliver(delivery)
        finally:
            if delivery.outcome == PENDING:
                delivery.outcome = FAILED
            delivery.finished.set()

    async def _deliver(self, delivery: WebhookDelivery) -> str:
        if self._session is None:
            raise EmulatorError("the emulator is not started")
        if not delivery.url:
            delivery.attempts.append(Attempt(self._clock(), error="no webhook URL configured"))
            return FAILED
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: delivery.signature}
        timeout = aiohttp.ClientTimeout(total=self._config.webhook_timeout)
        for number in range(1 + max(self._config.webhook_retries, 0)):
            if number:
                await asyncio.sleep(self._config.webhook_retry_delay)
            attempt = Attempt(self._clock())
            delivery.attempts.append(attempt)
            try:
                async with self._session.post(
                    delivery.url, data=delivery.raw, headers=headers, timeout=timeout
                ) as response:
                    await response.read()
                    attempt.status = response.status
            except TimeoutError:
                attempt.error = "timeout"
                continue
            except aiohttp.ClientError as exc:
                # Not stated by Genesys; a refused connection is retried like a timeout here.
                attempt.error = f"{type(exc).__name__}: {exc}"
                continue
            if 200 <= attempt.status < 300:
                return DELIVERED
            if attempt.status != 429 and attempt.status < 500:
                return FAILED
        return FAILED
