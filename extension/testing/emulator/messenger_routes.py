"""The customer messenger: `GET /messenger` (a static page) and its JSON routes under /emulator/messenger.

The customer is inside Genesys here (as with Web Messenger): their messages enter a Bot Connector
integration's inbound message flow (architect.py). No account is needed, as for the agent console.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from .config import BotConnectorConfig
from .errors import EmulatorError
from .ids import iso
from .keys import EMULATOR
from .state import Conversation, TranscriptEntry
from .ui import CSP

FOLDER = Path(__file__).with_name("messenger_ui")
PAGE_PATH = "/messenger"
ASSET_PATH = "/messenger/assets/{name}"
BASE = "/emulator/messenger"
ASSETS = {"messenger.js": "text/javascript", "messenger.css": "text/css"}
MAX_WAIT = 25.0  # seconds a long-poll may hold
MAX_TEXT = 4000
TYPING_SECONDS = 5.0


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@functools.cache
def _read(name: str) -> str:
    return (FOLDER / name).read_text(encoding="utf-8")


async def messenger_page(request: web.Request) -> web.Response:
    """The page; its script posts the customer's messages and long-polls the answers."""
    return web.Response(text=_read("messenger.html"), content_type="text/html", charset="utf-8", headers={
        "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
    })  # fmt: skip


async def messenger_asset(request: web.Request) -> web.Response:
    """One of the page's files (only those listed; a name is never joined to a path)."""
    name = request.match_info["name"]
    content_type = ASSETS.get(name)
    if content_type is None:
        return _error(404, "not found")
    return web.Response(text=_read(name), content_type=content_type, charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})  # fmt: skip


def _connector(request: web.Request, given: Any) -> BotConnectorConfig:
    connectors = request.app[EMULATOR].config.bot_connectors
    if given in (None, ""):
        if not connectors:
            raise LookupError("the emulator has no Bot Connector integration")
        return connectors[0]
    found = next((c for c in connectors if c.id == given), None)
    if found is None:
        raise LookupError(f"no Bot Connector integration {given}")
    return found


def _customer(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise ValueError("customerId must be a non-empty string of at most 100 characters")
    return value


def _latest(request: web.Request, integration_id: str, customer_id: str) -> Conversation | None:
    mine = [c for c in request.app[EMULATOR].conversations
            if c.integration_id == integration_id and c.customer_id == customer_id]  # fmt: skip
    return max(mine, key=lambda c: c.created) if mine else None


def message_json(index: int, entry: TranscriptEntry) -> dict[str, Any]:
    """One transcript line as the customer sees it."""
    quick = [item["quickReply"] for item in entry.content if item.get("contentType") == "QuickReply"]
    return {"index": index, "id": entry.id, "sender": entry.sender, "name": entry.name, "type": entry.type,
            "text": entry.text, "time": iso(entry.time),
            "quickReplies": [{"text": q["text"], "payload": q["payload"]} for q in quick]}  # fmt: skip


async def info(request: web.Request) -> web.Response:
    """GET the Bot Connector integrations the page can talk to (no credential, no URI)."""
    connectors = request.app[EMULATOR].config.bot_connectors
    return web.json_response({"integrations": [{"id": c.id, "name": c.name} for c in connectors]})


async def post_message(request: web.Request) -> web.Response:
    """POST `{customerId, name?, integrationId?, text}`, or a click: `{..., quickReply: {text, payload},
    originatingMessageId}`."""
    emulator = request.app[EMULATOR]
    try:
        body = json.loads(await request.read())
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        connector = _connector(request, body.get("integrationId"))
        customer = _customer(body.get("customerId"))
        name = body.get("name") or "Customer"
        if not isinstance(name, str) or len(name) > 60:
            raise ValueError("name must be a string of at most 60 characters")
        button = body.get("quickReply")
        if button is not None:
            if not isinstance(button, dict) or not all(isinstance(button.get(k), str) and button[k]
                                                       for k in ("text", "payload")):  # fmt: skip
                raise ValueError("quickReply needs text and payload")
            button = {"text": button["text"], "payload": button["payload"]}
            text = button["text"]
        else:
            text = body.get("text")
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
                raise ValueError(f"text must be a non-empty string of at most {MAX_TEXT} characters")
        conversation, entry = emulator.architect.receive(
            connector, customer, name.strip() or "Customer", text, button, body.get("originatingMessageId"))
    except LookupError as exc:
        return _error(404, str(exc))
    except EmulatorError as exc:
        return _error(409, str(exc))
    except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
        return _error(400, f"bad request: {exc}")
    index = conversation.transcript.index(entry)
    return web.json_response({"conversationId": conversation.id, "message": message_json(index, entry)})


async def get_events(request: web.Request) -> web.Response:
    """GET `?customerId=&integrationId=&after=N&wait=S`: the messages from index N, held up to S seconds."""
    emulator = request.app[EMULATOR]
    try:
        connector = _connector(request, request.query.get("integrationId"))
        customer = _customer(request.query.get("customerId"))
        after = int(request.query.get("after", "0"))
        wait = min(max(float(request.query.get("wait", "0")), 0.0), MAX_WAIT)
    except LookupError as exc:
        return _error(404, str(exc))
    except ValueError as exc:
        return _error(400, f"bad request: {exc}")
    conversation = _latest(request, connector.id, customer)
    if conversation is None:
        return web.json_response({"conversationId": None, "state": None, "messages": [], "next": 0,
                                  "agentTyping": False})  # fmt: skip
    if wait and len(conversation.transcript) <= after and conversation.ended is None:
        await emulator.messenger.wait(conversation.id, wait)
    typed = emulator.messenger.typing.get(conversation.id)
    return web.json_response({
        "conversationId": conversation.id,
        "state": conversation.state,
        "agent": conversation.agent.name if conversation.agent is not None else None,
        "messages": [message_json(i, e) for i, e in enumerate(conversation.transcript) if i >= after],
        "next": len(conversation.transcript),
        "agentTyping": typed is not None and emulator.clock() - typed < TYPING_SECONDS,
    })


async def end(request: web.Request) -> web.Response:
    """POST `{customerId, integrationId?}`: the customer leaves their open conversation."""
    emulator = request.app[EMULATOR]
    try:
        body = json.loads(await request.read() or b"{}")
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        connector = _connector(request, body.get("integrationId"))
        conversation = emulator.conversations.open_for(connector.id, _customer(body.get("customerId")))
        if conversation is None:
            return _error(404, "no open conversation")
        await emulator.agent.customer_end(conversation.id)
    except LookupError as exc:
        return _error(404, str(exc))
    except (ValueError, TypeError) as exc:
        return _error(400, f"bad request: {exc}")
    return web.json_response({"conversationId": conversation.id, "state": conversation.state})


def add_routes(app: web.Application) -> None:
    """Declare the messenger's page and JSON routes."""
    app.router.add_get(PAGE_PATH, messenger_page)
    app.router.add_get(ASSET_PATH, messenger_asset)
    app.router.add_get(BASE, info)
    app.router.add_post(BASE + "/messages", post_message)
    app.router.add_get(BASE + "/events", get_events)
    app.router.add_post(BASE + "/end", end)
