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
    """Answers each call with the next scripted reply: a JSON body, or `(status, raw text[, content type])`."""

    base: str = ""
    calls: list[Call] = field(default_factory=list)
    script: list[Any] = field(default_factory=list)
    delay: float = 0.0  # seconds before answering, for the timeout case
    listing: list[dict[str, Any]] = field(default_factory=list)  # the bots its GET routes serve
    by_id: dict[str, Any] = field(default_factory=dict)  # what GET /bots/{botId} answers instead
    reads: list[Call] = field(default_factory=list)

    async def bots(self, request: web.Request) -> web.Response:
        self.reads.append(Call(request.path, dict(request.headers), {}))
        if request.headers.get(CREDENTIAL_HEADER) != CREDENTIAL:
            return web.json_response({"error": "forbidden"}, status=403)
        bot_id = request.match_info.get("botId")
        if bot_id is None:
            return web.json_response({"entities": self.listing})
        if bot_id in self.by_id:
            return web.json_response(self.by_id[bot_id])
        found = next((b for b in self.listing if b["id"] == bot_id), None)
        return web.json_response(found) if found else web.json_response({"error": "no such bot"}, status=404)

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append(Call(request.path, dict(request.headers), json.loads(await request.read())))
        reply = self.script.pop(0) if self.script else more_data("Anything else?")
        if self.delay:
            await asyncio.sleep(self.delay)
        if isinstance(reply, tuple):
            status, text, kind = (*reply, "application/json")[:3]
            return web.Response(status=status, text=text, content_type=kind)
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
    app.router.add_get(f"/{URL_TOKEN}/botconnector/bots", stub.bots)
    app.router.add_get(f"/{URL_TOKEN}/botconnector/bots/{{botId}}", stub.bots)
    server = await aiohttp_server(app)
    stub.base = str(server.make_url(f"/{URL_TOKEN}"))
    return stub
