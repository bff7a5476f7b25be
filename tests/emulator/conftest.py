"""Fixtures: the emulator on loopback, a fake middleware receiving its webhooks, an API caller."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from extension.testing.emulator import Emulator, EmulatorConfig, IntegrationConfig, QueueConfig
from extension.testing.emulator.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

GUARD = 5.0  # seconds before a test waiting for something gives up (a hang guard, not a check)
SECRET = "a-webhook-secret-longer-than-15"
WEBHOOK_PATH = "/handover/genesysCloudOM"


@dataclass
class Received:
    """One webhook POST as the middleware saw it."""

    raw: bytes
    headers: dict[str, str]

    @property
    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.raw)
        return data


@dataclass
class FakeMiddleware:
    """Stands for our runtime: records webhook POSTs and answers from a plan."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    plan: list[int | str] = field(default_factory=list)  # statuses, or "hang" to time out
    hang_seconds: float = 3.0  # well past the emulator's webhook timeout below
    queue: asyncio.Queue[Received] = field(default_factory=asyncio.Queue)

    async def handle(self, request: web.Request) -> web.Response:
        item = Received(await request.read(), dict(request.headers))
        self.received.append(item)
        self.queue.put_nowait(item)
        answer = self.plan.pop(0) if self.plan else 200
        if answer == "hang":
            await asyncio.sleep(self.hang_seconds)
            answer = 200
        return web.Response(status=int(answer))

    async def next(self) -> Received:
        return await asyncio.wait_for(self.queue.get(), GUARD)


@pytest.fixture
async def middleware(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> FakeMiddleware:
    fake = FakeMiddleware()
    app = web.Application()
    app.router.add_post(WEBHOOK_PATH, fake.handle)
    server = await aiohttp_server(app)
    fake.url = str(server.make_url(WEBHOOK_PATH))
    return fake


def make_config(webhook_url: str, **overrides: Any) -> EmulatorConfig:
    """A fast configuration: millisecond retries, short timeouts; heartbeats off unless asked."""
    settings: dict[str, Any] = {
        "integrations": [
            IntegrationConfig(
                id="integration-1", name="BotHandover", webhook_url=webhook_url,
                webhook_secret=SECRET,
            )
        ],
        "queues": [
            QueueConfig(id="queue-support", name="Support"),
            QueueConfig(id="queue-billing", name="Billing"),
        ],
        "webhook_retry_delay": 0.001,
        # Short enough for the "hang" cases, long enough that a busy machine never times out a 200.
        "webhook_timeout": 1.0,
        "heartbeat_interval": 3600.0,
    }  # fmt: skip
    settings.update(overrides)
    return EmulatorConfig(**settings)


def basic(client_id: str, secret: str) -> str:
    """An HTTP Basic Authorization header value."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")


class Api:
    """A plain aiohttp caller of the emulator, the way a Genesys client would call it."""

    def __init__(self, client: TestClient[web.Request, web.Application], emulator: Emulator):
        self.client = client
        self.emulator = emulator
        self._token: str | None = None

    async def token(self) -> str:
        if self._token is None:
            response = await self.client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                headers={"Authorization": basic(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)},
            )
            assert response.status == 200
            self._token = (await response.json())["access_token"]
        return self._token

    async def call(
        self, method: str, path: str, body: Any = None, *, token: str | None = None
    ) -> tuple[int, Any, Any]:
        """(status, parsed JSON or None, headers)."""
        headers = {"Authorization": f"Bearer {token or await self.token()}"}
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs["json"] = body
        async with self.client.request(method, path, **kwargs) as response:
            raw = await response.read()
            parsed = json.loads(raw) if raw else None
            return response.status, parsed, response.headers

    async def inbound(
        self,
        text: str | None = "Hello",
        *,
        user: str = "user-1",
        attributes: dict[str, str] | None = None,
        integration: str = "integration-1",
        message_id: str | None = None,
        prefetch: bool = True,
        **extra: Any,
    ) -> dict[str, Any]:
        """Send one valid inbound message; returns the answer (asserting 200)."""
        body = inbound_body(text, user=user, attributes=attributes, message_id=message_id)
        body.update(extra)
        query = "?prefetchConversationId=true" if prefetch else ""
        path = f"/api/v2/conversations/messages/{integration}/inbound/open/message{query}"
        status, answer, _ = await self.call("POST", path, body)
        assert status == 200, answer
        result: dict[str, Any] = answer
        return result

    async def channel(self, *topics: str) -> tuple[dict[str, Any], aiohttp.ClientWebSocketResponse]:
        """A notifications channel subscribed to topics, with its WebSocket open."""
        status, channel, _ = await self.call("POST", "/api/v2/notifications/channels")
        assert status == 200
        if topics:
            path = f"/api/v2/notifications/channels/{channel['id']}/subscriptions"
            status, _, _ = await self.call("PUT", path, [{"id": t} for t in topics])
            assert status == 200
        socket = await self.client.session.ws_connect(channel["connectUri"])
        return channel, socket


def inbound_body(
    text: str | None = "Hello",
    *,
    user: str = "user-1",
    attributes: dict[str, str] | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "from": {"id": user, "idType": "Opaque", "nickname": "Jane Doe", "firstName": "Jane"},
        "time": "2026-01-15T10:00:00.000Z",
    }
    if message_id is not None:
        channel["messageId"] = message_id
    if attributes is not None:
        channel["metadata"] = {"customAttributes": attributes}
    body: dict[str, Any] = {"channel": channel}
    if text is not None:
        body["text"] = text
    return body


async def next_frame(
    socket: aiohttp.ClientWebSocketResponse, *, heartbeats: bool = False
) -> dict[str, Any]:
    """The next JSON frame (heartbeats skipped unless asked for)."""
    while True:
        message = await asyncio.wait_for(socket.receive(), GUARD)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        frame: dict[str, Any] = json.loads(message.data)
        if heartbeats or frame["topicName"] != "channel.metadata":
            return frame


@pytest.fixture
def config(middleware: FakeMiddleware) -> EmulatorConfig:
    return make_config(middleware.url)


@pytest.fixture
def emulator(config: EmulatorConfig) -> Emulator:
    return Emulator(config)


@pytest.fixture
async def api(
    aiohttp_client: Callable[..., Awaitable[TestClient[web.Request, web.Application]]],
    emulator: Emulator,
) -> Api:
    return Api(await aiohttp_client(emulator.app), emulator)
