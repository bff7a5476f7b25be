"""Discovery: Open Messaging integrations, routing queues, message routing recipients."""

from __future__ import annotations

import fnmatch
from typing import Any

from aiohttp import web

from .config import IntegrationConfig, QueueConfig
from .errors import error_response
from .keys import EMULATOR

INTEGRATIONS_PATH = "/api/v2/conversations/messaging/integrations/open"
QUEUES_PATH = "/api/v2/routing/queues"
RECIPIENT_PATH = "/api/v2/routing/message/recipients/{recipientId}"

MAX_PAGE_SIZE = 500


class PagingError(ValueError):
    """A pageSize or pageNumber that Genesys would refuse."""


def _int_param(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise PagingError(f"{name} must be an integer") from None
    if value < 1:
        raise PagingError(f"{name} must be at least 1")
    return value


def page(request: web.Request, items: list[dict[str, Any]]) -> dict[str, Any]:
    """The entity-listing envelope of one page of items, with Genesys' paging fields."""
    size = min(_int_param(request, "pageSize", 25), MAX_PAGE_SIZE)
    number = _int_param(request, "pageNumber", 1)
    total = len(items)
    count = (total + size - 1) // size if total else 0
    start = (number - 1) * size
    base = request.path

    def uri(n: int) -> str:
        return f"{base}?pageSize={size}&pageNumber={n}"

    body: dict[str, Any] = {
        "entities": items[start : start + size],
        "pageSize": size,
        "pageNumber": number,
        "total": total,
        "pageCount": count,
        "firstUri": uri(1),
        "selfUri": uri(number),
        "lastUri": uri(max(count, 1)),
    }
    if number < count:
        body["nextUri"] = uri(number + 1)
    if number > 1:
        body["previousUri"] = uri(number - 1)
    return body


def integration_json(integration: IntegrationConfig) -> dict[str, Any]:
    """An integration as the API lists it; the webhook secret is never shown."""
    return {
        "id": integration.id,
        "name": integration.name,
        "outboundNotificationWebhookUrl": integration.webhook_url,
        "status": integration.status,
        "createStatus": integration.create_status,
        "recipient": {
            "id": integration.recipient_id,
            "selfUri": RECIPIENT_PATH.format(recipientId=integration.recipient_id),
        },
        "supportedContent": {"id": "default-supported-content", "name": "Default"},
        "selfUri": f"{INTEGRATIONS_PATH}/{integration.id}",
    }


def queue_json(queue: QueueConfig) -> dict[str, Any]:
    """A queue as the routing API lists it."""
    return {
        "id": queue.id,
        "name": queue.name,
        "division": {
            "id": queue.division_id,
            "name": queue.division_name,
            "selfUri": f"/api/v2/authorization/divisions/{queue.division_id}",
        },
        "memberCount": 1,
        "selfUri": f"{QUEUES_PATH}/{queue.id}",
    }


def recipient_json(integration: IntegrationConfig) -> dict[str, Any]:
    """The message routing of an integration; `flow` only when a flow is linked."""
    body: dict[str, Any] = {
        "id": integration.recipient_id,
        "name": integration.name,
        "messengerType": "open",
        "selfUri": RECIPIENT_PATH.format(recipientId=integration.recipient_id),
    }
    if integration.flow_id is not None:
        body["flow"] = {
            "id": integration.flow_id,
            "name": integration.flow_name or "",
            "selfUri": f"/api/v2/flows/{integration.flow_id}",
        }
    return body


def _paged(request: web.Request, items: list[dict[str, Any]]) -> web.Response:
    try:
        return web.json_response(page(request, items))
    except PagingError as exc:
        return error_response(request, 400, str(exc), code="invalid.value")


async def list_integrations(request: web.Request) -> web.Response:
    """GET the Open Messaging integrations; there is no name filter."""
    config = request.app[EMULATOR].config
    return _paged(request, [integration_json(i) for i in config.integrations])


def name_matches(pattern: str, name: str) -> bool:
    """Genesys matches queue names loosely; emulate it as a case-insensitive prefix.

    Callers must therefore re-check the exact name, which is the point of emulating it.
    A `*` in the pattern is treated as "anything" like Genesys' wildcard.
    """
    wanted = pattern.lower()
    if "*" not in wanted:
        wanted += "*"
    return fnmatch.fnmatchcase(name.lower(), wanted)


async def get_integration(request: web.Request) -> web.Response:
    """GET one Open Messaging integration by id."""
    integration = request.app[EMULATOR].config.integration(request.match_info["integrationId"])
    if integration is None:
        return error_response(request, 404, "Integration not found", code="not.found")
    return web.json_response(integration_json(integration))


async def list_queues(request: web.Request) -> web.Response:
    """GET routing queues, optionally filtered by `name`."""
    config = request.app[EMULATOR].config
    wanted = request.query.get("name")
    queues = [q for q in config.queues if wanted is None or name_matches(wanted, q.name)]
    return _paged(request, [queue_json(q) for q in queues])


async def get_recipient(request: web.Request) -> web.Response:
    """GET the message routing recipient of an integration."""
    config = request.app[EMULATOR].config
    recipient_id = request.match_info["recipientId"]
    for integration in config.integrations:
        if integration.recipient_id == recipient_id:
            return web.json_response(recipient_json(integration))
    return error_response(
        request, 404, f"Recipient {recipient_id} not found", code="not.found"
    )


def add_routes(app: web.Application) -> None:
    """Declare the discovery routes."""
    app.router.add_get(INTEGRATIONS_PATH, list_integrations)
    app.router.add_get(INTEGRATIONS_PATH + "/{integrationId}", get_integration)
    app.router.add_get(QUEUES_PATH, list_queues)
    app.router.add_get(RECIPIENT_PATH, get_recipient)
