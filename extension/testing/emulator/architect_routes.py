"""JSON control routes of the emulated Architect: the Bot Connector integrations and each bot turn."""

from __future__ import annotations

from aiohttp import web

from .bot_fetch import BotListError
from .ids import iso
from .keys import EMULATOR


async def list_bot_connectors(request: web.Request) -> web.Response:
    """GET the Bot Connector integrations (credential header names only, never their values)."""
    config = request.app[EMULATOR].config
    items = [
        {"id": c.id, "name": c.name, "botUri": c.bot_uri, "credentialHeaders": sorted(c.credentials),
         "queueId": c.queue_id, "botId": c.bot_id, "botVersion": c.bot_version, "languageCode": c.language,
         "responseTimeout": c.response_timeout, "bots": [b["id"] for b in c.bots]}
        for c in config.bot_connectors
    ]  # fmt: skip
    return web.json_response({"botConnectors": items})


async def list_turns(request: web.Request) -> web.Response:
    """GET every bot call, optionally `?conversationId=` or `?integrationId=`: what was wrong, if anything."""
    conversation_id = request.query.get("conversationId")
    integration_id = request.query.get("integrationId")
    turns = [
        {**t.to_json(), "time": iso(t.time)}
        for t in request.app[EMULATOR].architect.turns
        if (conversation_id is None or t.conversation_id == conversation_id)
        and (integration_id is None or t.integration_id == integration_id)
    ]
    return web.json_response({"turns": turns})


async def fetch_bots(request: web.Request) -> web.Response:
    """POST: read the bot list from the bot (`GET {botUri}/botconnector/bots`) and make it the integration's."""
    emulator = request.app[EMULATOR]
    connector = emulator.config.bot_connector(request.match_info["id"])
    if connector is None:
        return web.json_response({"error": "bot connector not found"}, status=404)
    try:
        bots = await emulator.architect.fetch_bots(connector)
    except BotListError as exc:
        return web.json_response({"error": str(exc)}, status=502)
    return web.json_response({"chatBots": bots})


def add_routes(app: web.Application) -> None:
    """Declare the Architect control routes."""
    app.router.add_get("/emulator/bot-connectors", list_bot_connectors)
    app.router.add_get("/emulator/architect/turns", list_turns)
    app.router.add_post("/emulator/bot-connectors/{id}/fetch-bots", fetch_bots)
