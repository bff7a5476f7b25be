"""The routes Genesys calls on a Bot Connector endpoint: its bot list, and one call per customer message."""

from __future__ import annotations

import logging

from aiohttp import web

from ... import keys, texts
from ...flows.engine import Endpoint
from ...refusals import BadInput
from ...request_bodies import parse_json_object, read_body
from ...secrets import same_secret
from .messages import bot_description, parse_turn
from .settings import ENDPOINT_TYPE, BotConnectorSettings
from .turns import BotTurns

log = logging.getLogger("extension.providers.genesys_bot_connector")

WRONG_CREDENTIAL = "missing or wrong credential"


class BotConnectorRoutes:
    """The endpoints of this type, their bots, and which of them the feature flag allows."""

    def __init__(self, bots: dict[str, BotConnectorSettings], allowed: frozenset[str], turns: BotTurns) -> None:
        self.bots = bots
        self.allowed = allowed
        self.turns = turns

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/{urlToken}/botconnector/bots", self.list_bots),
            web.get("/{urlToken}/botconnector/bots/{botId}", self.get_bot),
            web.post("/{urlToken}/botconnector/messages", self.messages),
        ]

    def _bot_of(self, request: web.Request) -> tuple[Endpoint, BotConnectorSettings]:
        """The endpoint and its bot; 404 when there is none (or the flag is off for it), 403 without
        the integration's credential header."""
        token = request.match_info["urlToken"]
        endpoint = request.app[keys.SESSIONS].endpoint(token)
        bot = self.bots.get(token)
        if endpoint is None or endpoint.type != ENDPOINT_TYPE or bot is None or token not in self.allowed:
            raise BadInput(texts.UNKNOWN_ENDPOINT, 404)
        presented = request.headers.get(bot.credential_header)
        # Compared in full whatever was sent: the time says nothing of how much of it matched.
        if not same_secret(bot.credential.reveal(), presented or ""):
            log.info("bot connector call on endpoint %s refused: %s", token,
                     "no credential header" if presented is None else "wrong credential")
            raise BadInput(WRONG_CREDENTIAL, 403)
        return endpoint, bot

    async def list_bots(self, request: web.Request) -> web.Response:
        _, bot = self._bot_of(request)
        return web.json_response({"entities": [bot_description(bot)]})

    async def get_bot(self, request: web.Request) -> web.Response:
        _, bot = self._bot_of(request)
        if request.match_info["botId"] != bot.bot_id:
            raise BadInput("unknown botId", 404)
        return web.json_response(bot_description(bot))

    async def messages(self, request: web.Request) -> web.StreamResponse:
        return await self._answer(request)

    async def legacy(self, request: web.Request, endpoint: Endpoint) -> web.StreamResponse:
        """`POST /{urlToken}`: the legacy Call Bot Connector action posts the same body to one URL."""
        return await self._answer(request)

    async def _answer(self, request: web.Request) -> web.Response:
        endpoint, bot = self._bot_of(request)
        call = parse_turn(parse_json_object(await read_body(request)))
        if call.bot_id != bot.bot_id:
            raise BadInput("unknown botId", 404)
        return web.json_response(await self.turns.answer(endpoint, bot, call))
