"""The Genesys side of a Bot Connector integration: its bot list, read and replaced over the API.

`/api/v2/integrations/botconnector/{integrationId}/bots` (BotList; PUT replaces it), its
`/summaries`, `/{botId}` (optionally `?version=`) and `/{botId}/versions`; and the preview
`/api/v2/integrations/botconnectors/{integrationId}/bots` (BotListing), `/summaries` and `/{botId}`.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .bot_list import (
    bot_json,
    find_version,
    page,
    preview_bot_json,
    stored_bot,
    summary_json,
    validate_bot_list,
    version_summary_json,
)
from .config import BotConnectorConfig
from .errors import error_response
from .keys import EMULATOR
from .validation import BodyError

BASE = "/api/v2/integrations/botconnector/{integrationId}/bots"
PREVIEW = "/api/v2/integrations/botconnectors/{integrationId}/bots"


def _connector(request: web.Request) -> BotConnectorConfig | web.Response:
    integration_id = request.match_info["integrationId"]
    connector = request.app[EMULATOR].config.bot_connector(integration_id)
    if connector is None:
        return error_response(request, 404, f"Bot connector integration {integration_id} not found")
    return connector


def _bot(request: web.Request, connector: BotConnectorConfig) -> dict[str, Any] | web.Response:
    bot_id = request.match_info["botId"]
    found = next((b for b in connector.bots if b["id"] == bot_id), None)
    if found is None:
        return error_response(request, 404, f"Bot {bot_id} not found")
    return found


def _uri(template: str, connector: BotConnectorConfig, bot_id: str | None = None) -> str:
    uri = template.format(integrationId=connector.id)
    return f"{uri}/{bot_id}" if bot_id is not None else uri


def _listing(request: web.Request, items: list[dict[str, Any]], self_uri: str) -> web.Response:
    body = page(items, dict(request.query), self_uri)
    if isinstance(body, str):
        return error_response(request, 400, body, code="invalid.value")
    return web.json_response(body)


async def get_bots(request: web.Request) -> web.Response:
    """GET the bot list (BotList)."""
    connector = _connector(request)
    if isinstance(connector, web.Response):
        return connector
    bots = [bot_json(b, _uri(BASE, connector, b["id"])) for b in connector.bots]
    return web.json_response({"chatBots": bots})


async def put_bots(request: web.Request) -> web.Response:
    """PUT a new bot list (BotList), checked strictly; it replaces the old one whole."""
    connector = _connector(request)
    if isinstance(connector, web.Response):
        return connector
    try:
        body = json.loads(await request.read())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error_response(request, 400, "The request body is not valid JSON")
    try:
        validate_bot_list(body)
    except BodyError as exc:
        return error_response(request, 400, exc.message, code=exc.code, field_name=exc.field)
    connector.bots = [stored_bot(b) for b in body["chatBots"]]
    # Not verified: the status Genesys answers a successful PUT with (the SDK returns nothing).
    return web.Response(status=204)


async def get_summaries(request: web.Request) -> web.Response:
    """GET a page of bot summaries (BotConnectorBotSummaryEntityListing)."""
    connector = _connector(request)
    if isinstance(connector, web.Response):
        return connector
    return _listing(request, [summary_json(b) for b in connector.bots], _uri(BASE, connector) + "/summaries")


async def get_bot(request: web.Request) -> web.Response:
    """GET one bot (BotConnectorBot); `?version=` keeps that version only (404 when absent)."""
    connector = _connector(request)
    if isinstance(connector, web.Response):
        return connector
    found = _bot(request, connector)
    if isinstance(found, web.Response):
        return found
    body = bot_json(found, _uri(BASE, connector, found["id"]))
    wanted = request.query.get("version")
    if wanted is not None:
        version = find_version(found, wanted)
        if version is None or not wanted:
            return error_response(request, 404, f"Version {wanted} of bot {found['id']} not found")
        body["versions"] = [version]
    return web.json_response(body)


async def get_versions(request: web.Request) -> web.Response:
    """GET a page of one bot's versions (BotConnectorBotVersionSummaryEntityListing)."""
    connector = _connector(request)
    if isinstance(connector, web.Response):
        return connector
    found = _bot(request, connector)
    if isinstance(found, web.Response):
        return found
    items = [version_summary_json(found, v) for v in found["versions"]]
    return _listing(request, items, _uri(BASE, connector, found["id"]) + "/versions")


async def get_preview_bots(request: web.Request) -> web.Response:
    """GET the preview listing (BotListing of Bot)."""
    connector = _connector(request)
    if isinstance(connector, web.Response):
        return connector
    items = [preview_bot_json(b, _uri(PREVIEW, connector, b["id"])) for b in connector.bots]
    return _listing(request, items, _uri(PREVIEW, connector))


async def get_preview_summaries(request: web.Request) -> web.Response:
    """GET the preview summaries (BotSummaryEntityListing)."""
    connector = _connector(request)
    if isinstance(connector, web.Response):
        return connector
    return _listing(request, [summary_json(b) for b in connector.bots], _uri(PREVIEW, connector) + "/summaries")


async def get_preview_bot(request: web.Request) -> web.Response:
    """GET one bot in the preview model (Bot)."""
    connector = _connector(request)
    if isinstance(connector, web.Response):
        return connector
    found = _bot(request, connector)
    if isinstance(found, web.Response):
        return found
    return web.json_response(preview_bot_json(found, _uri(PREVIEW, connector, found["id"])))


def add_routes(app: web.Application) -> None:
    """Declare the bot list routes (the summaries before `{botId}`, which would match them)."""
    app.router.add_get(BASE, get_bots)
    app.router.add_put(BASE, put_bots)
    app.router.add_get(BASE + "/summaries", get_summaries)
    app.router.add_get(BASE + "/{botId}", get_bot)
    app.router.add_get(BASE + "/{botId}/versions", get_versions)
    app.router.add_get(PREVIEW, get_preview_bots)
    app.router.add_get(PREVIEW + "/summaries", get_preview_summaries)
    app.router.add_get(PREVIEW + "/{botId}", get_preview_bot)
