"""Faults on demand: rate limits, server errors, latency, lost or repeated deliveries."""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from .channels import NotificationHub
from .config import EmulatorConfig
from .errors import EmulatorError, error_response
from .tokens import TokenStore
from .webhooks import WebhookDelivery, WebhookSender

CONTROL_PREFIX = "/emulator"


def is_control(path: str) -> bool:
    """Routes that drive the emulator (JSON control, agent console, messenger): never recorded nor faulted."""
    return path.startswith(CONTROL_PREFIX) or any(path == page or path.startswith(page + "/")
                                                  for page in ("/console", "/messenger"))


@dataclass
class Rule:
    """Answer matching requests with `status`, or delay them, `times` times (None: until cleared)."""

    path: str  # a glob over the request path, e.g. "/api/v2/conversations/messages/*"
    method: str | None
    times: int | None
    status: int | None = None
    retry_after: int | None = None
    delay: float = 0.0
    hits: int = 0

    def matches(self, request: web.Request) -> bool:
        """True when this rule applies to the request and has uses left."""
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is not None and request.method != self.method.upper():
            return False
        return fnmatch.fnmatchcase(request.path, self.path)


class FaultTargets(Protocol):
    """What faults act on: the emulator's config, notifications, webhooks and tokens."""

    config: EmulatorConfig
    notifications: NotificationHub
    webhooks: WebhookSender
    tokens: TokenStore


class Faults:
    """What can go wrong, switched on by tests (`emulator.faults`)."""

    def __init__(self, emulator: FaultTargets) -> None:
        self._emulator = emulator
        self.rules: list[Rule] = []
        self.latency = emulator.config.latency  # seconds added to every API answer
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # replaceable in tests

    def rate_limit(
        self, path: str = "/api/*", *, method: str | None = None, times: int | None = 1,
        retry_after: int = 1,
    ) -> Rule:  # fmt: skip
        """Answer 429 `too.many.requests` with `Retry-After: retry_after`."""
        return self._add(Rule(path, method, times, status=429, retry_after=retry_after))

    def server_error(
        self, path: str = "/api/*", *, method: str | None = None, times: int | None = 1,
        status: int = 503,
    ) -> Rule:  # fmt: skip
        """Answer a 5xx with the Genesys error body for that status."""
        if status < 500:
            raise ValueError("server_error needs a 5xx status")
        return self._add(Rule(path, method, times, status=status))

    def not_found(
        self, path: str = "/api/*", *, method: str | None = None, times: int | None = 1,
    ) -> Rule:  # fmt: skip
        """Answer 404 `not.found`, as Genesys does for a conversation it no longer has."""
        return self._add(Rule(path, method, times, status=404))

    def slow(
        self, path: str = "/api/*", seconds: float = 1.0, *, method: str | None = None,
        times: int | None = None,
    ) -> Rule:  # fmt: skip
        """Delay matching answers by `seconds`."""
        return self._add(Rule(path, method, times, delay=seconds))

    def set_latency(self, seconds: float) -> None:
        """Delay every answer (benchmarks use about 0.01 to look like a network)."""
        self.latency = seconds

    def clear(self) -> None:
        """Remove every request rule and pending drop or duplicate; latency back to the config's."""
        self.rules.clear()
        self.latency = self._emulator.config.latency
        self._emulator.notifications.drops_pending = 0
        self._emulator.webhooks.duplicates_pending = 0

    # Notifications.

    def drop_notifications(self, count: int = 1) -> None:
        """Lose the next `count` topic events (heartbeats still flow)."""
        self._emulator.notifications.drops_pending += count

    async def close_notification_sockets(self, channel_id: str | None = None) -> int:
        """Drop the WebSocket(s) abruptly; the channel stays valid for a reconnect."""
        return await self._emulator.notifications.close_sockets(channel_id)

    async def socket_closing(self, channel_id: str | None = None) -> int:
        """Send `v2.system.socket_closing` on the connected socket(s)."""
        return await self._emulator.notifications.socket_closing(channel_id)

    async def expire_channel(self, channel_id: str | None = None) -> int:
        """Expire channel(s) now: the socket closes and the id answers 404 from then on."""
        return await self._emulator.notifications.expire(channel_id)

    # Tokens and webhooks.

    def revoke_tokens(self, client_id: str | None = None) -> int:
        """Revoke every issued token (of one client, when given): the next call gets 401."""
        return self._emulator.tokens.revoke(client_id=client_id)

    def redeliver_webhook(self, message_id: str | None = None) -> WebhookDelivery:
        """Send the last (or the given) webhook message again: same id, same bytes."""
        sent = [d for d in self._emulator.webhooks.sent if not d.redelivery]
        if message_id is not None:
            sent = [d for d in sent if d.id == message_id]
        if not sent:
            raise EmulatorError("no webhook has been sent yet")
        integration = self._emulator.config.integration(sent[-1].integration_id)
        if integration is None:
            raise EmulatorError(f"integration {sent[-1].integration_id} was removed")
        return self._emulator.webhooks.resend(sent[-1], integration)

    def duplicate_webhooks(self, count: int = 1) -> None:
        """Deliver each of the next `count` webhook messages twice."""
        self._emulator.webhooks.duplicates_pending += count

    def _add(self, rule: Rule) -> Rule:
        self.rules.append(rule)
        return rule

    async def apply(self, request: web.Request) -> web.Response | None:
        """Delay the request as configured; the fault answer to send instead, if any."""
        if is_control(request.path):
            return None
        delay = self.latency
        answer: web.Response | None = None
        for rule in self.rules:
            if not rule.matches(request):
                continue
            if rule.status is None:
                rule.hits += 1
                delay += rule.delay
            elif answer is None:
                rule.hits += 1
                answer = _fault_answer(request, rule)
        if delay > 0:
            await self.sleep(delay)
        return answer


def _fault_answer(request: web.Request, rule: Rule) -> web.Response:
    status = rule.status or 500
    if status == 429:
        seconds = rule.retry_after or 1
        message = "Rate limit exceeded the maximum [300] requests within [60] seconds"
        return error_response(
            request, 429, message, code="too.many.requests", headers={"Retry-After": str(seconds)}
        )
    if status == 404:
        return error_response(request, 404, "The requested resource was not found.", code="not.found")
    if request.path == "/oauth/token":
        body = {"error": "server_error", "description": "", "error_description": ""}
        return web.json_response(body, status=status)
    return error_response(request, status, "The service is currently unavailable")

