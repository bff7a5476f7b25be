"""Inbound Open Messaging: messages, typing events and receipts from the middleware."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .config import IntegrationConfig
from .errors import InvalidState, error_response
from .ids import message_id
from .keys import EMULATOR
from .messages import receipt
from .validation import BodyError, validate_event, validate_message, validate_receipt, validate_structured_response

BASE = "/api/v2/conversations/messages/{integrationId}/inbound/open"
MESSAGE_PATH = BASE + "/message"
EVENT_PATH = BASE + "/event"
RECEIPT_PATH = BASE + "/receipt"
STRUCTURED_RESPONSE_PATH = BASE + "/structured/response"


async def _checked(
    request: web.Request, validate: Callable[[Any], None]
) -> tuple[IntegrationConfig, dict[str, Any]] | web.Response:
    """The integration and the validated body, or the Genesys error answer."""
    integration_id = request.match_info["integrationId"]
    integration = request.app[EMULATOR].config.integration(integration_id)
    if integration is None:
        return error_response(
            request, 404, f"Integration {integration_id} not found", code="not.found"
        )
    try:
        body = json.loads(await request.read())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error_response(request, 400, "The request body is not valid JSON")
    try:
        validate(body)
    except BodyError as exc:
        return error_response(request, 400, exc.message, code=exc.code, field_name=exc.field)
    return integration, body


def _echo_channel(integration: IntegrationConfig, channel: dict[str, Any]) -> dict[str, Any]:
    echoed = {
        "id": integration.id,
        "platform": "Open",
        "type": "Private",
        "to": {"id": integration.id, "idType": "Opaque"},
        "from": channel["from"],
        "time": channel["time"],
    }
    if "messageId" in channel:
        echoed["messageId"] = channel["messageId"]
    return echoed


async def inbound_message(request: web.Request) -> web.Response:
    """POST a message from the end user; `?prefetchConversationId=true` answers its conversation."""
    checked = await _checked(request, validate_message)
    if isinstance(checked, web.Response):
        return checked
    integration, body = checked
    emulator = request.app[EMULATOR]
    conversation, entry = emulator.router.receive_message(integration, body)
    failure = emulator.config.inbound_receipt_failure
    if emulator.config.inbound_receipts or failure:
        event = receipt(integration, conversation, emulator.clock(), entry.id, *(
            ("Failed", [dict(failure)]) if failure else ()))
        emulator.router.send(conversation, event, "system", "receipt", record=False)
    emulator.agent.on_inbound(conversation, entry)
    answer: dict[str, Any] = {
        "id": entry.id,
        "channel": _echo_channel(integration, body["channel"]),
        "type": "Text",
        "direction": "Inbound",
    }
    for key in ("text", "content"):
        if key in body:
            answer[key] = body[key]
    if request.query.get("prefetchConversationId", "").lower() == "true":
        answer["conversationId"] = conversation.id
    return web.json_response(answer)


async def inbound_structured_response(request: web.Request) -> web.Response:
    """POST the customer's choice of a quick reply or button (OpenInboundStructuredResponseMessage)."""
    checked = await _checked(request, validate_structured_response)
    if isinstance(checked, web.Response):
        return checked
    integration, body = checked
    emulator = request.app[EMULATOR]
    try:
        conversation, entry = emulator.router.receive_structured_response(integration, body)
    except InvalidState as exc:
        return error_response(request, 400, str(exc), code="invalid.value", field_name="originatingMessageId")
    emulator.agent.on_inbound(conversation, entry)
    # OpenStructuredResponseNormalizedMessage.
    return web.json_response({
        "id": entry.id,
        "channel": _echo_channel(integration, body["channel"]),
        "type": "Structured",
        "direction": "Inbound",
        "content": entry.content,
    })


async def inbound_event(request: web.Request) -> web.Response:
    """POST a Typing event from the end user."""
    checked = await _checked(request, validate_event)
    if isinstance(checked, web.Response):
        return checked
    integration, body = checked
    request.app[EMULATOR].router.receive_event(integration, body)
    answer = {
        "id": message_id(),
        "channel": _echo_channel(integration, body["channel"]),
        "type": "Event",
        "events": body["events"],
        "direction": "Inbound",
    }
    return web.json_response(answer)


async def inbound_receipt(request: web.Request) -> web.Response:
    """POST a delivery receipt about an agent message."""
    checked = await _checked(request, validate_receipt)
    if isinstance(checked, web.Response):
        return checked
    integration, body = checked
    # Not verified: how Genesys answers a receipt about an unknown message id. It is accepted
    # and simply not attached to any message here.
    request.app[EMULATOR].router.receive_receipt(integration, body)
    answer = {
        "id": body["id"],
        "channel": {"id": integration.id, "platform": "Open", "type": "Private", **body["channel"]},
        "type": "Receipt",
        "status": body["status"],
        "direction": "Outbound",
    }
    return web.json_response(answer)


def add_routes(app: web.Application) -> None:
    """Declare the inbound routes."""
    app.router.add_post(MESSAGE_PATH, inbound_message)
    app.router.add_post(EVENT_PATH, inbound_event)
    app.router.add_post(RECEIPT_PATH, inbound_receipt)
    app.router.add_post(STRUCTURED_RESPONSE_PATH, inbound_structured_response)
