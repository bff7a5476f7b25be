"""JSON routes under /emulator to drive and inspect the emulator from outside Python."""

from __future__ import annotations

import base64
import json
from typing import Any

from aiohttp import web

from .discovery import integration_json
from .errors import EmulatorError
from .ids import iso
from .keys import EMULATOR

INTEGRATION_FIELDS = {
    "name": "name",
    "webhookUrl": "webhook_url",
    "outboundNotificationWebhookUrl": "webhook_url",
    "webhookSecret": "webhook_secret",
    "createStatus": "create_status",
    "flowId": "flow_id",
    "flowName": "flow_name",
}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _object(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    data = json.loads(raw) if raw.strip() else {}
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


async def index(request: web.Request) -> web.Response:
    """GET /emulator: what is here."""
    emulator = request.app[EMULATOR]
    return web.json_response(
        {
            "name": "Genesys Cloud emulator",
            "conversations": len(emulator.conversations),
            "waiting": len(emulator.agent.waiting()),
            "active": len(emulator.agent.active()),
            "routes": sorted({r.canonical for r in request.app.router.resources()}),
        }
    )


async def add_fault(request: web.Request) -> web.Response:
    """POST /emulator/faults `{"kind": ..., ...}`; the names mirror `emulator.faults`."""
    faults = request.app[EMULATOR].faults
    try:
        body = await _object(request)
        kind = body.get("kind")
        path = str(body.get("path", "/api/*"))
        method = body.get("method")
        times = body.get("times", 1)
        channel_id = body.get("channelId")
        result: Any = None
        if kind == "rate_limit":
            retry_after = int(body.get("retryAfter", 1))
            faults.rate_limit(path, method=method, times=times, retry_after=retry_after)
        elif kind == "server_error":
            status = int(body.get("status", 503))
            faults.server_error(path, method=method, times=times, status=status)
        elif kind == "slow":
            faults.slow(path, float(body["seconds"]), method=method, times=body.get("times"))
        elif kind == "latency":
            faults.set_latency(float(body["seconds"]))
        elif kind == "drop_notifications":
            faults.drop_notifications(int(body.get("count", 1)))
        elif kind == "close_sockets":
            result = await faults.close_notification_sockets(channel_id)
        elif kind == "socket_closing":
            result = await faults.socket_closing(channel_id)
        elif kind == "expire_channel":
            result = await faults.expire_channel(channel_id)
        elif kind == "revoke_tokens":
            result = faults.revoke_tokens(body.get("clientId"))
        elif kind == "redeliver_webhook":
            result = faults.redeliver_webhook(body.get("messageId")).id
        elif kind == "duplicate_webhooks":
            faults.duplicate_webhooks(int(body.get("count", 1)))
        else:
            return _error(400, f"unknown fault kind {kind!r}")
    except EmulatorError as exc:
        return _error(409, str(exc))
    except (ValueError, TypeError, KeyError) as exc:
        return _error(400, f"bad request: {exc}")
    return web.json_response({"kind": kind, "result": result})


async def clear_faults(request: web.Request) -> web.Response:
    """DELETE /emulator/faults: back to a healthy emulator."""
    request.app[EMULATOR].faults.clear()
    return web.Response(status=204)


async def list_requests(request: web.Request) -> web.Response:
    """GET /emulator/requests?path=GLOB&method=M: what the emulator received."""
    log = request.app[EMULATOR].requests
    records = log.matching(request.query.get("path", "*"), request.query.get("method"))
    items = []
    for record in records:
        items.append(
            {
                "method": record.method,
                "path": record.path,
                "query": record.query,
                "json": record.json,
                "status": record.status,
                "time": iso(record.time),
                "correlationId": record.correlation_id,
            }
        )
    return web.json_response({"requests": items})


async def list_webhooks(request: web.Request) -> web.Response:
    """GET /emulator/webhooks?conversationId=: what the emulator posted and how it went."""
    wanted = request.query.get("conversationId")
    items = []
    for delivery in request.app[EMULATOR].webhooks.sent:
        if wanted is not None and delivery.conversation_id != wanted:
            continue
        items.append(
            {
                "id": delivery.id,
                "conversationId": delivery.conversation_id,
                "url": delivery.url,
                "body": delivery.body,
                "raw": base64.b64encode(delivery.raw).decode("ascii"),
                "signature": delivery.signature,
                "redelivery": delivery.redelivery,
                "outcome": delivery.outcome,
                "attempts": [
                    {"time": iso(a.time), "status": a.status, "error": a.error}
                    for a in delivery.attempts
                ],
            }
        )
    return web.json_response({"webhooks": items})


async def list_notifications(request: web.Request) -> web.Response:
    """GET /emulator/notifications: topic events published and the channels they reached."""
    hub = request.app[EMULATOR].notifications
    events = [
        {
            "topicName": e.topic,
            "eventBody": e.body,
            "time": iso(e.time),
            "deliveredTo": e.delivered_to,
            "dropped": e.dropped,
        }
        for e in hub.published
    ]
    channels = [
        {"id": c.id, "topics": c.topics, "connected": c.connected, "expires": iso(c.expires_at)}
        for c in hub.channels.values()
    ]
    return web.json_response({"events": events, "channels": channels})


async def list_integrations(request: web.Request) -> web.Response:
    """GET /emulator/integrations: the configured integrations, with linked flow."""
    config = request.app[EMULATOR].config
    items = [{**integration_json(i), "flowId": i.flow_id} for i in config.integrations]
    return web.json_response({"integrations": items})


async def patch_integration(request: web.Request) -> web.Response:
    """PATCH /emulator/integrations/{id}: change name, webhook URL or secret, status, flow."""
    emulator = request.app[EMULATOR]
    try:
        body = await _object(request)
        unknown = set(body) - set(INTEGRATION_FIELDS)
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}")
        changes = {INTEGRATION_FIELDS[k]: v for k, v in body.items()}
        integration = emulator.update_integration(request.match_info["id"], **changes)
    except KeyError:
        return _error(404, "integration not found")
    except (ValueError, TypeError) as exc:
        return _error(400, f"bad request: {exc}")
    return web.json_response({**integration_json(integration), "flowId": integration.flow_id})


def add_routes(app: web.Application) -> None:
    """Declare the control routes."""
    app.router.add_get("/emulator", index)
    app.router.add_post("/emulator/faults", add_fault)
    app.router.add_delete("/emulator/faults", clear_faults)
    app.router.add_get("/emulator/requests", list_requests)
    app.router.add_get("/emulator/webhooks", list_webhooks)
    app.router.add_get("/emulator/notifications", list_notifications)
    app.router.add_get("/emulator/integrations", list_integrations)
    app.router.add_patch("/emulator/integrations/{id}", patch_integration)
