"""The emulator: its aiohttp app, its parts, and helpers to run and inspect it."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from .addresses import http_url
from .agent import Agent
from .architect import Architect
from .architect_routes import add_routes as add_architect_routes
from .auth import bearer_auth, token_endpoint
from .bot_connector_api import add_routes as add_bot_connector_routes
from .channels import NotificationHub, PublishedEvent
from .config import CREATE_STATUSES, BotConnectorConfig, EmulatorConfig, IntegrationConfig, QueueConfig
from .console import add_routes as add_console_routes
from .control import add_routes as add_control_routes
from .conversations import add_routes as add_conversation_routes
from .discovery import add_routes as add_discovery_routes
from .downloads import add_routes as add_download_routes
from .errors import CORRELATION_HEADER, SDK_CORRELATION_HEADER, correlation_id, error_response
from .faults import Faults, is_control
from .inbound import add_routes as add_inbound_routes
from .integration_update import add_routes as add_integration_update_routes
from .keys import EMULATOR
from .messenger import MessengerFeed
from .messenger_routes import add_routes as add_messenger_routes
from .notifications import add_routes as add_notification_routes
from .records import RequestLog, RequestRecord
from .routing import Router
from .state import ConversationStore, TranscriptEntry
from .tokens import TokenStore
from .ui import add_routes as add_ui_routes
from .wait_estimates import add_routes as add_wait_estimate_routes
from .webhooks import WebhookDelivery, WebhookSender

# The routes of each handler module, added in this order.
ROUTES = (add_discovery_routes, add_integration_update_routes, add_inbound_routes, add_conversation_routes,
          add_notification_routes, add_console_routes, add_control_routes, add_ui_routes,
          add_wait_estimate_routes, add_bot_connector_routes, add_messenger_routes, add_architect_routes,
          add_download_routes)


class Emulator:
    """A Genesys Cloud organisation in one process: API, login, notifications, agents, faults.

    Use `await emulator.start()` (or `async with Emulator() as emulator`) for a real port, or hand
    `emulator.app` to aiohttp's test server fixtures.
    """

    def __init__(
        self, config: EmulatorConfig | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config or EmulatorConfig()
        self.clock = clock
        self.tokens = TokenStore(clock)
        self.conversations = ConversationStore()
        self.notifications = NotificationHub(self.config, clock)
        self.webhooks = WebhookSender(self.config, clock)
        self.messenger = MessengerFeed(clock)
        self.router = Router(self.config, clock, self.conversations, self.notifications,
                             self.webhooks, self.messenger)  # fmt: skip
        self.agent = Agent(self.config, clock, self.conversations, self.router)
        self.architect = Architect(self.config, clock, self.router, self.agent)
        self.faults = Faults(self)
        self.requests = RequestLog()
        self.app = create_app(self)
        self.base_url: str | None = None
        self._runner: web.AppRunner | None = None

    # Running ---------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port); returns the base URL of login and API."""
        runner = web.AppRunner(self.app)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            # Setting up opened the webhook sender's session: close it, not leave it to the collector.
            await runner.cleanup()
            raise
        self._runner = runner
        bound = runner.addresses[0][1]
        self.base_url = http_url(host, bound)
        return self.base_url

    async def stop(self) -> None:
        """Stop serving; pending webhook deliveries are abandoned, pending messenger long-polls answered."""
        self.messenger.wake_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # Changing the organisation at run time (doctor tests misconfigure it on purpose) ----------

    def add_integration(self, integration: IntegrationConfig) -> IntegrationConfig:
        """Add (or replace, by id) an Open Messaging integration."""
        self.remove_integration(integration.id)
        self.config.integrations.append(integration)
        return integration

    def update_integration(self, integration_id: str, **changes: Any) -> IntegrationConfig:
        """Change fields of an integration (name, webhook_url, webhook_secret, flow_id, ...)."""
        integration = self.config.integration(integration_id)
        if integration is None:
            raise KeyError(integration_id)
        names = {f.name for f in dataclasses.fields(IntegrationConfig)} - {"id"}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown integration fields {sorted(unknown)}")
        if changes.get("create_status", integration.create_status) not in CREATE_STATUSES:
            raise ValueError(f"create_status must be one of {CREATE_STATUSES}")
        for name, value in changes.items():
            setattr(integration, name, value)
        return integration

    def remove_integration(self, integration_id: str) -> None:
        """Remove an integration, if present."""
        self.config.integrations[:] = [
            i for i in self.config.integrations if i.id != integration_id
        ]

    def add_queue(self, queue: QueueConfig) -> QueueConfig:
        """Add (or replace, by id) a queue."""
        self.remove_queue(queue.id)
        self.config.queues.append(queue)
        return queue

    def remove_queue(self, queue_id: str) -> None:
        """Remove a queue, if present."""
        self.config.queues[:] = [q for q in self.config.queues if q.id != queue_id]

    def add_bot_connector(self, connector: BotConnectorConfig) -> BotConnectorConfig:
        """Add (or replace, by id) a Bot Connector integration."""
        self.config.bot_connectors[:] = [c for c in self.config.bot_connectors if c.id != connector.id]
        self.config.bot_connectors.append(connector)
        return connector

    @property
    def integration(self) -> IntegrationConfig:
        """The first integration (the only one by default)."""
        return self.config.integrations[0]

    @property
    def queue(self) -> QueueConfig:
        """The first queue (the only one by default)."""
        return self.config.queues[0]

    # Assertions ------------------------------------------------------------------------------

    def issue_token(self, client_id: str | None = None) -> str:
        """A valid bearer token without a round trip to /oauth/token."""
        client = client_id or next(iter(self.config.clients))
        return self.tokens.issue(client, self.config.token_lifetime).value

    def inbound_messages(self, conversation_id: str | None = None) -> list[TranscriptEntry]:
        """Every inbound message accepted (of one conversation, when given), in order."""
        return [
            entry
            for conversation in self.conversations
            if conversation_id is None or conversation.id == conversation_id
            for entry in conversation.transcript
            if entry.direction == "inbound"
        ]

    def sent_webhooks(
        self, conversation_id: str | None = None, type: str | None = None
    ) -> list[WebhookDelivery]:
        """Webhook messages sent (redeliveries included), optionally filtered."""
        return [
            d
            for d in self.webhooks.sent
            if (conversation_id is None or d.conversation_id == conversation_id)
            and (type is None or d.type == type)
        ]

    def published_events(self, topic: str | None = None) -> list[PublishedEvent]:
        """Topic events published (also those nobody was subscribed to, or dropped)."""
        return [e for e in self.notifications.published if topic is None or e.topic == topic]

    async def settle(self) -> None:
        """Wait until every bot turn and queued webhook delivery has finished."""
        await self.architect.idle()
        await self.webhooks.idle()


@web.middleware
async def record_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Keep a record of the request; answer errors the Genesys way; add the correlation id."""
    context_id = correlation_id(request)
    record: RequestRecord | None = None
    try:
        if not is_control(request.path):
            record = await _record(request, context_id)
        response = await handler(request)
    except web.HTTPException as exc:  # unknown route, wrong method, body over client_max_size
        if is_control(request.path):
            response = web.json_response({"error": exc.reason}, status=exc.status)
        else:
            response = error_response(request, exc.status, exc.reason)
    if record is not None:
        record.status = response.status
    if not response.prepared:
        response.headers[CORRELATION_HEADER] = context_id
        response.headers[SDK_CORRELATION_HEADER] = context_id
    return response


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply `emulator.faults` before the request reaches its handler."""
    answer = await request.app[EMULATOR].faults.apply(request)
    if answer is not None:
        return answer
    return await handler(request)


async def _record(request: web.Request, context_id: str) -> RequestRecord:
    emulator = request.app[EMULATOR]
    raw = await request.read() if request.can_read_body else b""
    try:
        parsed: Any = json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        parsed = None
    record = RequestRecord(
        method=request.method,
        path=request.path,
        query=dict(request.query),
        headers=dict(request.headers),
        body=raw,
        json=parsed,
        time=emulator.clock(),
        correlation_id=context_id,
    )
    emulator.requests.append(record)
    return record


def create_app(emulator: Emulator) -> web.Application:
    """The aiohttp application serving the emulator."""
    app = web.Application(middlewares=[record_middleware, fault_middleware, bearer_auth])
    app[EMULATOR] = emulator
    app.router.add_post("/oauth/token", token_endpoint)
    for add_routes in ROUTES:
        add_routes(app)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await emulator.webhooks.start()
        await emulator.architect.start()
        yield
        await emulator.architect.close()
        await emulator.agent.close()
        await emulator.webhooks.close()

    async def close_sockets(app: web.Application) -> None:
        await emulator.notifications.close_all()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(close_sockets)
    return app
