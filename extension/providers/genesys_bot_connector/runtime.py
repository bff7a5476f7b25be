"""Installs the Bot Connector endpoints (manifest.json `endpointTypes[].factory`)."""

from __future__ import annotations

import logging

from aiohttp import web

from ... import keys
from ...config import Config
from ...endpoint_types import take_post
from ...handover import register_provider
from ...manifest import EndpointType
from .provider import BotConnectorHandover
from .routes import BotConnectorRoutes
from .settings import ENDPOINT, ENDPOINT_TYPE, BotConnectorSettings
from .turns import BotTurns

log = logging.getLogger("extension.providers.genesys_bot_connector")


def install(app: web.Application, config: Config, declaration: EndpointType) -> None:
    """The routes of every endpoint of this type, and its handover provider."""
    bots = {e.url_token: e.type_settings for e in config.endpoints
            if e.type == ENDPOINT_TYPE and isinstance(e.type_settings, BotConnectorSettings)}
    allowed = set()
    for e in config.endpoints:
        if e.url_token not in bots:
            continue
        reason = ENDPOINT.disabled_reason(config.flags, e.organisation)
        if reason is None:
            allowed.add(e.url_token)
        else:
            log.warning("endpoint %r (organisation %r): the %s is off, its routes answer 404; to enable it, %s",
                        e.url_token, e.organisation, declaration.label, reason)
    sessions = app[keys.SESSIONS]
    routes = BotConnectorRoutes(bots, frozenset(allowed), BotTurns(sessions, app[keys.METRICS]))
    app.router.add_routes(routes.routes())
    take_post(app, ENDPOINT_TYPE, routes.legacy)
    register_provider(sessions, ENDPOINT_TYPE, BotConnectorHandover(bots))
