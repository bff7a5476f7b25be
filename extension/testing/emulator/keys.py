"""The one typed place where the aiohttp app keeps the emulator: `EMULATOR`, typed by what handlers use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import web

from .agent import Agent
from .architect import Architect
from .channels import NotificationHub
from .config import EmulatorConfig, IntegrationConfig
from .faults import Faults
from .messenger import MessengerFeed
from .records import RequestLog
from .routing import Router
from .state import ConversationStore
from .tokens import TokenStore
from .webhooks import WebhookSender


class EmulatorParts(Protocol):
    """The parts of the emulator (app.py's `Emulator`) that request handlers reach through the app."""

    config: EmulatorConfig
    clock: Callable[[], float]
    tokens: TokenStore
    conversations: ConversationStore
    notifications: NotificationHub
    webhooks: WebhookSender
    router: Router
    agent: Agent
    architect: Architect
    messenger: MessengerFeed
    faults: Faults
    requests: RequestLog

    def update_integration(self, integration_id: str, **changes: Any) -> IntegrationConfig: ...


EMULATOR: web.AppKey[EmulatorParts] = web.AppKey("genesys_emulator")
