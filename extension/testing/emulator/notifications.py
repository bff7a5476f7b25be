"""Notifications API routes: channels, subscriptions, and the channel WebSocket."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import WSMsgType, web

from .channels import HEARTBEAT_TOPIC, Channel, LimitError, missing_for
from .errors import CORRELATION_HEADER, correlation_id, error_response
from .ids import iso
from .keys import EMULATOR
from .request_keys import CLIENT_ID

CHANNELS_PATH = "/api/v2/notifications/channels"
SUBSCRIPTIONS_PATH = CHANNELS_PATH + "/{channelId}/subscriptions"
SOCKET_PATH = "/channels/{channelId}"


def channel_json(request: web.Request, channel: Channel) -> dict[str, Any]:
    """A channel as the API answers it: `connectUri` points at this emulator's WebSocket."""
    scheme = "wss" if request.secure else "ws"
    return {
        "connectUri": f"{scheme}://{request.host}{SOCKET_PATH.format(channelId=channel.id)}",
        "id": channel.id,
        "expires": iso(channel.expires_at),
    }


def topics_json(channel: Channel) -> dict[str, Any]:
    """The channel's subscriptions as a topic listing."""
    return {"entities": [{"id": topic} for topic in channel.topics]}


def _owned_channel(request: web.Request) -> Channel | None:
    hub = request.app[EMULATOR].notifications
    return hub.get(request.match_info["channelId"], str(request[CLIENT_ID]))


def _channel_not_found(request: web.Request) -> web.Response:
    return error_response(request, 404, "Channel not found", code="not.found")


async def create_channel(request: web.Request) -> web.Response:
    """POST a new channel."""
    hub = request.app[EMULATOR].notifications
    try:
        channel = hub.create(str(request[CLIENT_ID]))
    except LimitError as exc:
        return error_response(request, 400, str(exc), code="bad.request")
    return web.json_response(channel_json(request, channel))


async def list_channels(request: web.Request) -> web.Response:
    """GET the client's live channels."""
    hub = request.app[EMULATOR].notifications
    channels = hub.owned_by(str(request[CLIENT_ID]))
    return web.json_response({"entities": [channel_json(request, c) for c in channels]})


async def head_channel(request: web.Request) -> web.Response:
    """HEAD a channel: 200 while it is usable, 404 once gone or expired."""
    return web.Response(status=200 if _owned_channel(request) else 404)


async def get_subscriptions(request: web.Request) -> web.Response:
    """GET the channel's topics."""
    channel = _owned_channel(request)
    if channel is None:
        return _channel_not_found(request)
    return web.json_response(topics_json(channel))


def _topics(body: Any) -> list[str] | None:
    if not isinstance(body, list):
        return None
    topics = []
    for item in body:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            return None
        topics.append(item["id"])
    return topics


def _topic_json(topic: str, missing: list[str]) -> dict[str, Any]:
    if not missing:
        return {"id": topic, "state": "Permitted"}
    return {"id": topic, "state": "Rejected", "rejectionReason": "Missing permissions",
            "missingPermissions": missing}


async def _change_subscriptions(request: web.Request, replace: bool) -> web.Response:
    channel = _owned_channel(request)
    if channel is None:
        return _channel_not_found(request)
    try:
        topics = _topics(await request.json())
    except (json.JSONDecodeError, UnicodeDecodeError):
        topics = None
    if topics is None:
        return error_response(
            request, 400, 'The body must be an array of {"id": "<topic>"}', code="bad.request"
        )
    emulator = request.app[EMULATOR]
    lacking = emulator.config.missing_permissions.get(str(request[CLIENT_ID]), [])
    missing = {topic: missing_for(topic, lacking) for topic in topics}
    refused = [topic for topic in topics if missing[topic]]
    # Like Genesys: without ignoreErrors one topic the client may not read fails the whole request.
    if refused and request.query.get("ignoreErrors", "").lower() != "true":
        needed = sorted({p for topic in refused for p in missing[topic]})
        return error_response(request, 403, f"Missing permissions: {', '.join(needed)}",
                              code="missing.permissions")
    try:
        emulator.notifications.subscribe(channel, [t for t in topics if t not in refused], replace)
    except LimitError as exc:
        return error_response(request, 400, str(exc), code="bad.request")
    entities = [_topic_json(topic, []) for topic in channel.topics]
    entities += [_topic_json(topic, missing[topic]) for topic in refused]
    return web.json_response({"entities": entities})


async def put_subscriptions(request: web.Request) -> web.Response:
    """PUT: replace the channel's topics."""
    return await _change_subscriptions(request, replace=True)


async def post_subscriptions(request: web.Request) -> web.Response:
    """POST: add topics to the channel."""
    return await _change_subscriptions(request, replace=False)


async def delete_subscriptions(request: web.Request) -> web.Response:
    """DELETE: remove every topic of the channel."""
    channel = _owned_channel(request)
    if channel is None:
        return _channel_not_found(request)
    channel.topics = []
    return web.Response(status=204)


async def channel_socket(request: web.Request) -> web.StreamResponse:
    """The WebSocket at a channel's connectUri; the URI itself is the credential."""
    hub = request.app[EMULATOR].notifications
    channel = hub.get(request.match_info["channelId"])
    if channel is None:
        return _channel_not_found(request)
    socket = web.WebSocketResponse()
    socket.headers[CORRELATION_HEADER] = correlation_id(request)
    await socket.prepare(request)
    await hub.attach(channel, socket)
    beats = asyncio.get_running_loop().create_task(hub.heartbeats(channel, socket))
    try:
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                incoming = json.loads(message.data)
            except json.JSONDecodeError:
                continue
            if isinstance(incoming, dict) and incoming.get("message") == "ping":
                pong = {"topicName": HEARTBEAT_TOPIC, "eventBody": {"message": "pong"}}
                await hub.send(channel, pong)
    finally:
        beats.cancel()
        hub.detach(channel, socket)
    return socket


def add_routes(app: web.Application) -> None:
    """Declare the notifications routes."""
    app.router.add_post(CHANNELS_PATH, create_channel)
    app.router.add_get(CHANNELS_PATH, list_channels)
    app.router.add_route("HEAD", CHANNELS_PATH + "/{channelId}", head_channel)
    app.router.add_get(SUBSCRIPTIONS_PATH, get_subscriptions)
    app.router.add_put(SUBSCRIPTIONS_PATH, put_subscriptions)
    app.router.add_post(SUBSCRIPTIONS_PATH, post_subscriptions)
    app.router.add_delete(SUBSCRIPTIONS_PATH, delete_subscriptions)
    app.router.add_get(SOCKET_PATH, channel_socket)
