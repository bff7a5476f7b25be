"""Reading a bot list from the bot itself: `GET {bot_uri}/botconnector/bots` and `.../bots/{botId}`.

The bot answers the preview models: `BotListing` {entities: [Bot]}, `Bot` {id, name, description,
versions: [BotVersion {version, supportedLanguages, intents: [BotConnectorIntent {name,
entities: [BotEntity {name, type}]}]}]}. Each is checked strictly and turned into the integration's
`BotList` shape (an intent's entities become its slots).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from .bot_list import ENTITY_TYPES, validate_bot_list
from .config import BotConnectorConfig
from .errors import EmulatorError

BOTS_PATH = "/botconnector/bots"
_LISTING_FIELDS = {"entities", "pageSize", "pageNumber", "total", "firstUri", "selfUri", "nextUri", "previousUri",
                   "lastUri", "pageCount"}  # fmt: skip
_BOT_FIELDS = {"id", "name", "description", "provider", "versions", "botCompositeTag", "selfUri"}
_VERSION_FIELDS = {"version", "supportedLanguages", "intents"}
_INTENT_FIELDS = {"name", "entities"}
_ENTITY_FIELDS = {"name", "type"}


class BotListError(EmulatorError):
    """The bot's own bot list could not be read, or is malformed."""


def _known(obj: Any, allowed: set[str], path: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise BotListError(f"{path} must be a JSON object")
    unknown = sorted(k for k in obj if k not in allowed)
    if unknown:
        raise BotListError(f"{path} has unknown field(s) {', '.join(unknown)}")
    return obj


def _list(obj: dict[str, Any], key: str, path: str) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list):
        raise BotListError(f"{path}.{key} must be an array")
    return value


def converted_bot(bot: Any, path: str) -> dict[str, Any]:
    """A `Bot` of the bot's answer, checked, as a `BotConnectorBot`."""
    bot = _known(bot, _BOT_FIELDS, path)
    for key in ("id", "name"):
        if not isinstance(bot.get(key), str) or not bot[key]:
            raise BotListError(f"{path}.{key} must be a non-empty string")
    versions = []
    for index, version in enumerate(_list(bot, "versions", path)):
        where = f"{path}.versions[{index}]"
        version = _known(version, _VERSION_FIELDS, where)
        intents = []
        for number, intent in enumerate(_list(version, "intents", where)):
            spot = f"{where}.intents[{number}]"
            intent = _known(intent, _INTENT_FIELDS, spot)
            slots = {}
            for item, entity in enumerate(intent.get("entities", [])):
                entity = _known(entity, _ENTITY_FIELDS, f"{spot}.entities[{item}]")
                if entity.get("type") not in ENTITY_TYPES:
                    raise BotListError(f"{spot}.entities[{item}].type must be one of {', '.join(ENTITY_TYPES)}")
                slots[str(entity.get("name"))] = {"name": entity.get("name"), "type": entity["type"]}
            intents.append({"name": intent.get("name"), **({"slots": slots} if slots else {})})
        languages = _list(version, "supportedLanguages", where)
        versions.append({"version": version.get("version"), "supportedLanguages": languages, "intents": intents})
    converted = {"id": bot["id"], "name": bot["name"], "versions": versions}
    if "description" in bot:
        converted["description"] = bot["description"]
    return converted


async def fetch_bot_list(session: aiohttp.ClientSession, connector: BotConnectorConfig) -> list[dict[str, Any]]:
    """The bot's own list as `BotList.chatBots`; each bot read again by id must be the listed one."""
    base = connector.bot_uri.rstrip("/") + BOTS_PATH
    listing = _known(await _get(session, connector, base), _LISTING_FIELDS, "listing")
    bots = [converted_bot(b, f"listing.entities[{i}]") for i, b in enumerate(_list(listing, "entities", "listing"))]
    for bot in bots:
        alone = converted_bot(await _get(session, connector, f"{base}/{bot['id']}"), f"bot {bot['id']}")
        if alone != bot:
            raise BotListError(f"GET {BOTS_PATH}/{bot['id']} is not the bot the list shows")
    try:
        validate_bot_list({"chatBots": bots})
    except ValueError as exc:
        raise BotListError(f"the bot list is not a valid BotList: {exc}") from None
    return bots


async def _get(session: aiohttp.ClientSession, connector: BotConnectorConfig, url: str) -> Any:
    timeout = aiohttp.ClientTimeout(total=connector.response_timeout)
    try:
        async with session.get(url, headers=connector.credentials, timeout=timeout,
                               allow_redirects=False) as response:  # fmt: skip
            raw = await response.read()
            status = response.status
    except TimeoutError:
        raise BotListError(f"GET {url}: no answer within {connector.response_timeout:g} s") from None
    except aiohttp.ClientError as exc:
        raise BotListError(f"GET {url}: {type(exc).__name__}") from None
    if status != 200:
        raise BotListError(f"GET {url}: HTTP {status}; a bot answers 200")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BotListError(f"GET {url}: the body is not JSON") from None
