"""POST /handover/genesysCloudOM: signed agent messages, and key-authorized end events."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from aiohttp import web

from .. import texts
from ..channels.http import BadInput, json_error, read_body
from ..genesys import MalformedMessage
from ..genesys.notifications_topics import parse_http_end_event
from ..genesys.outbound import parse_outbound
from ..genesys.signature import HEADER, verify
from .keys import HANDOVER_RUNTIME

log = logging.getLogger("extension.handover.webhook")

PATH = "/handover/genesysCloudOM"


def _integration_id(body: Any) -> str | None:
    """`channel.id`, else `channel.from.id`, read before the signature is checked (to pick the secret)."""
    if not isinstance(body, dict) or not isinstance(body.get("channel"), dict):
        return None
    channel = body["channel"]
    if isinstance(channel.get("id"), str):
        return str(channel["id"])
    sender = channel.get("from")
    if isinstance(sender, dict) and isinstance(sender.get("id"), str):
        return str(sender["id"])
    return None


async def genesys_webhook(request: web.Request) -> web.Response:
    runtime = request.app.get(HANDOVER_RUNTIME)
    if runtime is None:
        raise BadInput("no Genesys Cloud connection is configured", 404)
    started = time.perf_counter()
    metrics = runtime.handover.metrics
    raw = await read_body(request)
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return await _end_event(request, raw, auth[7:].strip())
    try:
        body = json.loads(raw)
    except ValueError:
        metrics.webhooks.inc(outcome="not_json")
        return json_error(400, texts.NOT_JSON)
    conn = await runtime.connection_for_integration(_integration_id(body))
    if conn is None or not verify(conn.webhook_secret.reveal(), raw, request.headers.get(HEADER)):
        metrics.webhooks.inc(outcome="invalid_signature")
        return json_error(401, texts.INVALID_SIGNATURE)
    try:
        message = parse_outbound(body)
    except MalformedMessage as exc:
        # Signed by Genesys but not understood: accepted, so the chat is not broken by a retry loop.
        log.debug("signed webhook body not understood: %s", exc)
        metrics.webhooks.inc(outcome="malformed")
        return web.json_response({"status": "ignored"})
    outcome = await runtime.delivery.deliver(conn, message)
    runtime.ending.signal(message.conversation_id)
    metrics.webhooks.inc(outcome=outcome)
    metrics.webhook_latency.observe(time.perf_counter() - started)
    return web.json_response({"status": outcome})


async def _end_event(request: web.Request, raw: bytes, key: str) -> web.Response:
    runtime = request.app[HANDOVER_RUNTIME]
    conn = runtime.connection_for_end_key(key)
    if conn is None:
        runtime.handover.metrics.webhooks.inc(outcome="invalid_key")
        return json_error(401, "invalid key")
    try:
        event = parse_http_end_event(json.loads(raw))
    except ValueError as exc:  # MalformedMessage is a ValueError, so is bad JSON
        return json_error(400, f"not an end event: {exc}" if isinstance(exc, MalformedMessage) else texts.NOT_JSON)
    if event is None:
        return web.json_response({"status": "ignored"})
    await runtime.ending.on_event(conn.name, event)
    runtime.handover.metrics.webhooks.inc(outcome="end_event")
    return web.json_response({"status": "accepted"})
