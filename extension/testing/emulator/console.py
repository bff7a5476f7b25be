"""JSON routes under /emulator/conversations for the agent console (an agent's clicks, over HTTP)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .conversations import participant_json
from .downloads import host_file
from .errors import EmulatorError, UnknownConversation
from .ids import iso
from .keys import EMULATOR
from .rich_samples import SAMPLE_FILES, SAMPLES, sample
from .state import Conversation, TranscriptEntry
from .webhooks import WebhookDelivery

BASE = "/emulator/conversations"
STATES = ("bot", "unrouted", "waiting", "active", "ended")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def entry_json(entry: TranscriptEntry, deliveries: dict[str, WebhookDelivery]) -> dict[str, Any]:
    """One transcript line, with the webhook outcome of agent and flow messages."""
    body: dict[str, Any] = {
        "id": entry.id,
        "direction": entry.direction,
        "sender": entry.sender,
        "name": entry.name,
        "type": entry.type,
        "text": entry.text,
        "content": entry.content,
        "time": iso(entry.time),
    }
    if entry.direction == "inbound":
        body["messageId"] = entry.message_id
        body["duplicate"] = entry.duplicate
    else:
        delivery = deliveries.get(entry.id)
        body["delivery"] = delivery.outcome if delivery is not None else None
        body["receipts"] = [
            {k: r[k] for k in ("status", "reasons", "isFinalReceipt") if k in r}
            for r in entry.receipts
        ]
    return body


def summary_json(request: web.Request, conversation: Conversation) -> dict[str, Any]:
    """A conversation as the console's list shows it."""
    config = request.app[EMULATOR].config
    queue = config.queue(conversation.queue_id) if conversation.queue_id else None
    agent = conversation.agent
    last = conversation.transcript[-1] if conversation.transcript else None
    return {
        "id": conversation.id,
        "state": conversation.state,
        "integrationId": conversation.integration_id,
        "channel": conversation.channel,
        "customer": {
            "id": conversation.customer_id,
            "idType": conversation.customer_id_type,
            "name": conversation.customer.name,
        },
        "queue": {"id": queue.id, "name": queue.name} if queue is not None else None,
        "agent": agent.name if agent is not None else None,
        "ringingAgent": conversation.ringing.name if conversation.ringing is not None else None,
        "created": iso(conversation.created),
        "ended": iso(conversation.ended) if conversation.ended is not None else None,
        "messageCount": len(conversation.transcript),
        "lastMessage": last.text if last is not None else None,
    }


def detail_json(request: web.Request, conversation: Conversation) -> dict[str, Any]:
    """A conversation with its transcript, participants and participant data."""
    emulator = request.app[EMULATOR]
    sent = [*emulator.webhooks.sent, *emulator.messenger.delivered]
    deliveries = {d.id: d for d in sent if not d.redelivery}
    typing = [e["time"] for e in conversation.events]
    return {
        **summary_json(request, conversation),
        "profile": conversation.customer_profile,
        "customAttributes": dict(conversation.attributes),
        "participants": [participant_json(p) for p in conversation.participants],
        "transcript": [entry_json(e, deliveries) for e in conversation.transcript],
        "customerTypingAt": iso(typing[-1]) if typing else None,
        # The emulated Architect's calls of the bot (messenger conversations): what each answer meant.
        "botTurns": [{"time": iso(t.time), "status": t.status, "outcome": t.outcome, "problem": t.problem}
                     for t in emulator.architect.turns if t.conversation_id == conversation.id],  # fmt: skip
    }


async def list_conversations(request: web.Request) -> web.Response:
    """GET conversations, optionally `?state=waiting|active|ended|unrouted|bot`."""
    wanted = request.query.get("state")
    if wanted is not None and wanted not in STATES:
        return _error(400, f"state must be one of {', '.join(STATES)}")
    conversations = request.app[EMULATOR].agent.conversations()
    selected = [c for c in conversations if wanted is None or c.state == wanted]
    return web.json_response({"conversations": [summary_json(request, c) for c in selected]})


async def get_conversation(request: web.Request) -> web.Response:
    """GET one conversation in full."""
    conversation = request.app[EMULATOR].conversations.get(request.match_info["id"])
    if conversation is None:
        return _error(404, "conversation not found")
    return web.json_response(detail_json(request, conversation))


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


Action = Callable[[web.Request, str, dict[str, Any]], Awaitable[None]]


def _action(action: Action) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        conversation_id = request.match_info["id"]
        try:
            body = await _body(request)
            await action(request, conversation_id, body)
        except UnknownConversation:
            return _error(404, "conversation not found")
        except EmulatorError as exc:
            return _error(409, str(exc))
        except (ValueError, TypeError, KeyError) as exc:
            return _error(400, f"bad request: {exc}")
        conversation = request.app[EMULATOR].conversations.require(conversation_id)
        return web.json_response(detail_json(request, conversation))

    return handler


async def _accept(request: web.Request, cid: str, body: dict[str, Any]) -> None:
    await request.app[EMULATOR].agent.accept(cid, str(body.get("agent") or "Anna"))


async def _ring(request: web.Request, cid: str, body: dict[str, Any]) -> None:
    await request.app[EMULATOR].agent.ring(cid, str(body.get("agent") or "Anna"))


async def _ring_timeout(request: web.Request, cid: str, body: dict[str, Any]) -> None:
    await request.app[EMULATOR].agent.ring_timeout(cid)


async def _reply(request: web.Request, cid: str, body: dict[str, Any]) -> None:
    attachments = body.get("attachments") or []
    quick_replies = body.get("quickReplies") or []
    if not isinstance(attachments, list) or not isinstance(quick_replies, list):
        raise ValueError("attachments and quickReplies must be arrays")
    for attachment in attachments:
        if not isinstance(attachment, dict) or not attachment.get("url"):
            raise ValueError("each attachment needs a url")
    await request.app[EMULATOR].agent.reply(
        cid, body.get("text"), attachments=attachments, quick_replies=quick_replies, wait=False
    )


async def _file(request: web.Request, cid: str, body: dict[str, Any]) -> None:
    """Send a sample file the emulator hosts (behind its download API, as Genesys hosts an agent's)."""
    kind = body.get("kind")
    if not isinstance(kind, str) or kind not in SAMPLE_FILES:
        raise ValueError(f"kind must be one of {', '.join(SAMPLE_FILES)}")
    data, mime, filename = SAMPLE_FILES[kind]
    attachment = host_file(request.app, str(request.url.origin()), data, mime, filename)
    await request.app[EMULATOR].agent.reply(cid, None, attachments=[attachment], wait=False)


async def _content(request: web.Request, cid: str, body: dict[str, Any]) -> None:
    """Send one sample of a rich content type (rich_samples.py) as the agent."""
    kind = body.get("kind")
    if not isinstance(kind, str) or kind not in SAMPLES:
        raise ValueError(f"kind must be one of {', '.join(SAMPLES)}")
    await request.app[EMULATOR].agent.reply(cid, None, rich=[sample(kind, str(request.url.origin()))],
                                          wait=False)


async def _typing(request: web.Request, cid: str, body: dict[str, Any]) -> None:
    await request.app[EMULATOR].agent.typing(cid, wait=False)


async def _end(request: web.Request, cid: str, body: dict[str, Any]) -> None:
    await request.app[EMULATOR].agent.end(cid)


async def _transfer(request: web.Request, cid: str, body: dict[str, Any]) -> None:
    agent = body.get("agent")
    if not isinstance(agent, str) or not agent:
        raise ValueError("agent is required")
    await request.app[EMULATOR].agent.transfer(cid, agent)


async def _customer_end(request: web.Request, cid: str, body: dict[str, Any]) -> None:
    await request.app[EMULATOR].agent.customer_end(cid)


async def _flow_message(request: web.Request, cid: str, body: dict[str, Any]) -> None:
    text = body.get("text")
    if not isinstance(text, str) or not text:
        raise ValueError("text is required")
    await request.app[EMULATOR].agent.flow_message(cid, text, wait=False)


ACTIONS: dict[str, Action] = {
    "ring": _ring,
    "accept": _accept,
    "ring-timeout": _ring_timeout,
    "reply": _reply,
    "content": _content,
    "file": _file,
    "typing": _typing,
    "end": _end,
    "transfer": _transfer,
    "customer-end": _customer_end,
    "flow-message": _flow_message,
}


def add_routes(app: web.Application) -> None:
    """Declare the agent console's JSON routes."""
    app.router.add_get(BASE, list_conversations)
    app.router.add_get(BASE + "/{id}", get_conversation)
    for name, action in ACTIONS.items():
        app.router.add_post(f"{BASE}/{{id}}/{name}", _action(action))
