"""Conversations API: read a message conversation, disconnect a participant."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .errors import EmulatorError, error_response
from .ids import iso
from .keys import EMULATOR
from .state import Conversation, Participant

CONVERSATION_PATH = "/api/v2/conversations/messages/{conversationId}"
PARTICIPANT_PATH = CONVERSATION_PATH + "/participants/{participantId}"


def participant_json(participant: Participant) -> dict[str, Any]:
    """A participant as the conversations API shows it (MessageMediaParticipant)."""
    body: dict[str, Any] = {
        "id": participant.id,
        "name": participant.name,
        "startTime": iso(participant.start_time),
        "purpose": participant.purpose,
        "state": participant.state,
        "direction": "inbound",
        "held": False,
        "type": "open",  # MessageMediaParticipant.type: lowercase platform names
        "attributes": dict(participant.attributes),
    }
    if participant.address is not None:
        body["address"] = participant.address
    if participant.connected_time is not None:
        body["connectedTime"] = iso(participant.connected_time)
    if participant.end_time is not None:
        body["endTime"] = iso(participant.end_time)
    if participant.disconnect_type is not None:
        body["disconnectType"] = participant.disconnect_type
    if participant.user_id is not None:
        body["user"] = {"id": participant.user_id, "selfUri": f"/api/v2/users/{participant.user_id}"}
    if participant.queue_id is not None:
        body["queue"] = {
            "id": participant.queue_id,
            "selfUri": f"/api/v2/routing/queues/{participant.queue_id}",
        }
    if participant.purpose == "agent":
        body["wrapupRequired"] = participant.state == "disconnected"
    return body


def conversation_json(conversation: Conversation) -> dict[str, Any]:
    """A message conversation as GET /api/v2/conversations/messages/{id} answers it."""
    return {
        "id": conversation.id,
        "participants": [participant_json(p) for p in conversation.participants],
        "otherMediaUris": [],
        "selfUri": CONVERSATION_PATH.format(conversationId=conversation.id),
    }


def _not_found(request: web.Request, what: str) -> web.Response:
    return error_response(request, 404, f"{what} not found", code="not.found")


async def get_conversation(request: web.Request) -> web.Response:
    """GET a message conversation with its participants."""
    store = request.app[EMULATOR].conversations
    conversation = store.get(request.match_info["conversationId"])
    if conversation is None:
        return _not_found(request, "Conversation")
    return web.json_response(conversation_json(conversation))


async def patch_participant(request: web.Request) -> web.Response:
    """PATCH a participant to `{"state": "disconnected"}` (customer: ends the conversation)."""
    emulator = request.app[EMULATOR]
    conversation = emulator.conversations.get(request.match_info["conversationId"])
    if conversation is None:
        return _not_found(request, "Conversation")
    participant = conversation.participant(request.match_info["participantId"])
    if participant is None:
        return _not_found(request, "Participant")
    try:
        body = json.loads(await request.read())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error_response(request, 400, "The request body is not valid JSON")
    if not isinstance(body, dict) or "state" not in body:
        return error_response(request, 400, "state is required", field_name="state")
    if body["state"] != "disconnected":
        return error_response(
            request,
            400,
            "The emulator only supports state 'disconnected'",
            code="invalid.value",
            field_name="state",
        )
    refusal = emulator.config.refuse_customer_disconnect
    if refusal is not None and participant.purpose == "customer":
        return _refuse_disconnect(request, refusal)
    # Not verified: Genesys' answer for a participant already disconnected; idempotent here.
    if participant.connected and conversation.ended is None:
        try:
            if participant.purpose == "customer":
                await emulator.router.customer_end(conversation.id)
            elif participant.purpose == "agent":
                await emulator.router.end(conversation.id)
            else:
                return error_response(
                    request, 400, f"Cannot disconnect a {participant.purpose} participant"
                )
        except EmulatorError as exc:
            return error_response(request, 409, str(exc))
    return web.Response(status=202)


# What an organisation that does not let API clients end the customer side might answer.
_REFUSALS = {
    400: ("bad.request", "The participant of this conversation type cannot be updated"),
    403: ("not.authorized", "You are not authorized to disconnect this participant"),
    405: ("method.not.allowed", "Disconnecting this participant is not supported"),
    409: ("conflict", "The participant cannot be disconnected in its current state"),
    422: ("invalid.value", "The participant state cannot be set to disconnected"),
}


def _refuse_disconnect(request: web.Request, status: int) -> web.Response:
    code, message = _REFUSALS.get(status, (None, "The participant cannot be disconnected"))
    return error_response(request, status, message, code=code)


def add_routes(app: web.Application) -> None:
    """Declare the conversations routes."""
    app.router.add_get(CONVERSATION_PATH, get_conversation)
    app.router.add_patch(PARTICIPANT_PATH, patch_participant)
