"""A scripted Bot Connector bot on loopback: what the emulated Architect calls in these tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from extension.testing.emulator import BotConnectorConfig, bot

URL_TOKEN = "genesys-bot"
CREDENTIAL_HEADER = "verify-token"
CREDENTIAL = "stub-bot-credential-0123456789"  # a test credential
CONNECTOR_ID = "bc-integration-1"
BOT_ID = "support-bot"
INTENTS = ["Escalate", "Resolved"]


@dataclass
class Call:
    """One POST the bot received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class StubBot:
    """Answers each call with the next scripted reply: a JSON body, `(status, raw text)`, or a pause."""

    base: str = ""
    calls: list[Call] = field(default_factory=list)
    script: list[Any] = field(default_factory=list)
    delay: float = 0.0  # seconds before answering, for the timeout case

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append(Call(request.path, dict(request.headers), json.loads(await request.read())))
        reply = self.script.pop(0) if self.script else more_data("Anything else?")
        if self.delay:
            await asyncio.sleep(self.delay)
        if isinstance(reply, tuple):
            status, text = reply
            return web.Response(status=status, text=text, content_type="application/json")
        return web.json_response(reply)

    def connector(self, **overrides: Any) -> BotConnectorConfig:
        settings: dict[str, Any] = {
            "id": CONNECTOR_ID, "name": "Support bot connector", "bot_uri": self.base,
            "credentials": {CREDENTIAL_HEADER: CREDENTIAL}, "queue_id": "queue-support",
            "bots": [bot(BOT_ID, INTENTS, name="Support bot")], "response_timeout": 2.0,
        }  # fmt: skip
        settings.update(overrides)
        return BotConnectorConfig(**settings)


def text(value: str) -> dict[str, str]:
    return {"type": "Text", "text": value}


def more_data(*texts: str) -> dict[str, Any]:
    return {"botState": "MoreData", "replyMessages": [text(t) for t in texts]}


def complete(intent: str, *texts: str, **extra: Any) -> dict[str, Any]:
    return {"botState": "Complete", "intent": intent, "replyMessages": [text(t) for t in texts], **extra}


async def start_stub(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> StubBot:
    stub = StubBot()
    app = web.Application()
    app.router.add_post(f"/{URL_TOKEN}/botconnector/messages", stub.handle)
    server = await aiohttp_server(app)
    stub.base = str(server.make_url(f"/{URL_TOKEN}"))
    return stub
