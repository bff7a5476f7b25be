"""A Bot Connector endpoint config, its flow, and a call as Genesys makes it."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

CREDENTIAL = "bot-connector-credential-0123"
HEADER = "verify-token"
BASE = "/genesys-bot"
FLAG = {"FEATURE_USE_GENESYS_BOT_CONNECTOR_ENDPOINT_WHITELIST": "acme"}
BotClient = Callable[..., Awaitable[TestClient[Any, Any]]]

BOT_FLOW: dict[str, Any] = {
    "name": "bot",
    "nodes": [
        {"id": "hello", "type": "say", "config": {"text": "Hi, I am the bot."}},
        {"id": "wait", "type": "waitForInput"},
        {"id": "route", "type": "switch", "config": {"on": "input.text", "cases": {
            "/agent/i": "handover", "/bye/i": "done", "/menu/i": "menu", "/fail/i": "broken",
            "/slow/i": "slow"}, "default": "echo"}},
        {"id": "echo", "type": "say", "config": {"text": "You said: {{input.text}}"}},
        {"id": "loop", "type": "goTo", "config": {"target": "wait"}},
        {"id": "menu", "type": "say", "config": {"text": "Pick one", "data": {"quickReplies": [
            {"title": "Billing", "payload": "billing"}, {"title": "Other", "payload": "other"}]}}, "next": "wait"},
        {"id": "handover", "type": "handoverToAgent", "config": {
            "language": "en-us", "skills": ["billing", "vip"], "priority": 5,
            "customAttributes": {"source": "bot"}}},
        {"id": "done", "type": "completeBotSession", "config": {"intent": "Resolved",
                                                               "parameters": {"summary": "said bye"}}},
        {"id": "broken", "type": "goTo", "config": {"target": "broken"}},
        {"id": "slow", "type": "say", "config": {"text": "never"}, "next": "wait"},
    ],
}


def bot_config_text(*, store: str = "memory://", table_extra: str = "", endpoint_extra: str = "",
                    intents: str = '["Escalate", "Resolved"]', escalation: str = '"Escalate"',
                    organisation: str = "acme") -> str:
    escalation_line = f"escalationIntent = {escalation}\n" if escalation else ""
    return f"""
[server]
host = "127.0.0.1"
port = 8080

[store]
url = "{store}"

[[endpoints]]
urlToken = "genesys-bot"
type = "genesysBotConnector"
organisation = "{organisation}"
flow = "bot.json"
{endpoint_extra}
[endpoints.botConnector]
credentialHeader = "{HEADER}"
credential = "{CREDENTIAL}"
botId = "support-bot"
botName = "Support bot"
languages = ["en-us"]
intents = {intents}
{escalation_line}{table_extra}
"""


def write_bot_config(tmp_path: Path, flow: dict[str, Any] | None = None, **kw: Any) -> Path:
    (tmp_path / "bot.json").write_text(json.dumps(flow or BOT_FLOW))
    path = tmp_path / "bot.toml"
    path.write_text(bot_config_text(**kw))
    return path


def call(text: str | None = "hello", *, session: str = "bs-1", conversation: str = "conv-1",
         message_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """A request body as Architect's Call Digital Bot Connector action sends it."""
    body: dict[str, Any] = {
        "botId": "support-bot", "botVersion": "1", "botSessionId": session,
        "messageId": message_id or f"msg-{uuid.uuid4().hex}",
        "inputMessage": {"type": "Text", "text": text},
        "languageCode": "en-us", "botSessionTimeout": 60, "genesysConversationId": conversation,
    }
    body.update(extra)
    return body


HEADERS = {HEADER: CREDENTIAL}
MESSAGES = f"{BASE}/botconnector/messages"


async def ask(client: TestClient[Any, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The 200 answer of the endpoint to one call."""
    resp = await client.post(MESSAGES, data=json.dumps(body), headers=HEADERS)
    assert resp.status == 200, await resp.text()
    answer: dict[str, Any] = await resp.json()
    return answer


def flow_with(node_id: str, **config: Any) -> dict[str, Any]:
    """BOT_FLOW with these config values set on one of its nodes."""
    flow = copy.deepcopy(BOT_FLOW)
    next(n for n in flow["nodes"] if n["id"] == node_id).setdefault("config", {}).update(config)
    return flow
