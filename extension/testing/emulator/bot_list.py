"""A Bot Connector integration's bot list: the strict check of a PUT, and the shapes the GETs answer.

Field names follow the official SDK models: `BotList` {chatBots}, `BotConnectorBot` {id, name,
description, versions, botCompositeTag, selfUri}, `BotConnectorBotVersion` {version,
supportedLanguages, intents}, `BotIntent` {name, slots}, `BotSlot` {name, type}; and, for the
preview `/botconnectors/` routes, `Bot` with `BotVersion` and `BotConnectorIntent` {name, entities}.
Required fields and limits are those of the SDK documentation (id and versions of a bot; version,
supportedLanguages and intents of a version; 50 versions, 50 intents, 256-character descriptions).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .validation import BodyError

ENTITY_TYPES = (
    "String", "Integer", "Decimal", "Duration", "Boolean", "Currency", "Datetime",
    "StringCollection", "IntegerCollection", "DecimalCollection", "DurationCollection",
    "BooleanCollection", "CurrencyCollection", "DatetimeCollection",
)  # fmt: skip
MAX_VERSIONS = 50
MAX_INTENTS = 50
MAX_DESCRIPTION = 256
MAX_VERSION_NAME = 100

_LIST_FIELDS = {"chatBots"}
# botCompositeTag and selfUri are read-only: accepted (a GET body put back) and ignored.
_BOT_FIELDS = {"id", "name", "description", "versions", "botCompositeTag", "selfUri"}
_VERSION_FIELDS = {"version", "supportedLanguages", "intents"}
_INTENT_FIELDS = {"name", "slots"}
_SLOT_FIELDS = {"name", "type"}


def _fields(obj: Any, allowed: set[str], path: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise BodyError(f"{path} must be an object", path, "invalid.value")
    for key in obj:
        if key not in allowed:
            raise BodyError(f"Unrecognized field '{path}.{key}'", f"{path}.{key}")
    return obj


def _text(obj: dict[str, Any], key: str, path: str, *, required: bool, limit: int | None = None,
          empty: bool = False) -> None:  # fmt: skip
    where = f"{path}.{key}"
    value = obj.get(key)
    if value is None:
        if required:
            raise BodyError(f"{where} is required", where)
        return
    if empty and value == "":
        return
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise BodyError(f"{where} must be a non-empty string without leading or trailing whitespace",
                        where, "invalid.value")
    if limit is not None and len(value) > limit:
        raise BodyError(f"{where} is longer than {limit} characters", where, "invalid.value")


def _array(obj: dict[str, Any], key: str, path: str, limit: int | None = None) -> list[Any]:
    where = f"{path}.{key}"
    value = obj.get(key)
    if value is None:
        raise BodyError(f"{where} is required", where)
    if not isinstance(value, list):
        raise BodyError(f"{where} must be an array", where, "invalid.value")
    if limit is not None and len(value) > limit:
        raise BodyError(f"{where} allows at most {limit} items", where, "invalid.value")
    return value


def validate_bot_list(body: Any) -> None:
    """Check a `BotList` body; BodyError on the first problem."""
    body = _fields(body, _LIST_FIELDS, "body")
    seen: set[str] = set()
    for index, item in enumerate(_array(body, "chatBots", "body")):
        path = f"chatBots[{index}]"
        validate_bot(item, path)
        if item["id"] in seen:
            raise BodyError(f"{path}.id {item['id']} is listed twice", f"{path}.id", "invalid.value")
        seen.add(item["id"])


def validate_bot(bot: Any, path: str) -> None:
    """Check one `BotConnectorBot`."""
    bot = _fields(bot, _BOT_FIELDS, path)
    _text(bot, "id", path, required=True)
    _text(bot, "name", path, required=False)
    # Assumed: an empty description is no description (the SDK does not say).
    _text(bot, "description", path, required=False, limit=MAX_DESCRIPTION, empty=True)
    names: set[str] = set()
    for index, version in enumerate(_array(bot, "versions", path, MAX_VERSIONS)):
        where = f"{path}.versions[{index}]"
        version = _fields(version, _VERSION_FIELDS, where)
        _text(version, "version", where, required=True, limit=MAX_VERSION_NAME)
        if version["version"] in names:
            raise BodyError(f"{where}.version {version['version']} is listed twice", f"{where}.version",
                            "invalid.value")  # fmt: skip
        names.add(version["version"])
        for number, language in enumerate(_array(version, "supportedLanguages", where)):
            if not isinstance(language, str) or not language.strip():
                raise BodyError(f"{where}.supportedLanguages[{number}] must be a language code such as en-us",
                                f"{where}.supportedLanguages[{number}]", "invalid.value")  # fmt: skip
        for number, intent in enumerate(_array(version, "intents", where, MAX_INTENTS)):
            _intent(intent, f"{where}.intents[{number}]")


def _intent(intent: Any, path: str) -> None:
    intent = _fields(intent, _INTENT_FIELDS, path)
    _text(intent, "name", path, required=True)
    slots = intent.get("slots", {})
    if not isinstance(slots, dict):
        raise BodyError(f"{path}.slots must be an object of BotSlot", f"{path}.slots", "invalid.value")
    for key, slot in slots.items():
        where = f"{path}.slots.{key}"
        slot = _fields(slot, _SLOT_FIELDS, where)
        _text(slot, "name", where, required=True)
        # Assumed: a slot's type takes the entity types of BotEntity (BotSlot names no enum).
        if slot.get("type") not in ENTITY_TYPES:
            raise BodyError(f"{where}.type must be one of {', '.join(ENTITY_TYPES)}", f"{where}.type",
                            "invalid.value")  # fmt: skip


def composite_tag(bot: dict[str, Any]) -> str:
    """The read-only `botCompositeTag`: here a digest of the bot as stored."""
    stored = {k: v for k, v in bot.items() if k not in ("botCompositeTag", "selfUri")}
    return hashlib.sha256(json.dumps(stored, sort_keys=True).encode("utf-8")).hexdigest()[:32]


def stored_bot(bot: dict[str, Any]) -> dict[str, Any]:
    """A validated bot as kept: the read-only fields dropped."""
    return {k: v for k, v in bot.items() if k not in ("botCompositeTag", "selfUri")}


def bot_json(bot: dict[str, Any], self_uri: str) -> dict[str, Any]:
    """A `BotConnectorBot` as the GETs answer it."""
    return {**stored_bot(bot), "botCompositeTag": composite_tag(bot), "selfUri": self_uri}


def summary_json(bot: dict[str, Any]) -> dict[str, Any]:
    """A `BotSummary`."""
    body = {"id": bot["id"], "name": bot.get("name", bot["id"]), "botCompositeTag": composite_tag(bot)}
    if bot.get("description"):
        body["description"] = bot["description"]
    return body


def version_summary_json(bot: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
    """A `BotVersionSummary`."""
    return {**summary_json(bot), "version": version["version"]}


def preview_bot_json(bot: dict[str, Any], self_uri: str) -> dict[str, Any]:
    """The preview model `Bot`: its intents carry `entities` (from the slots) instead of `slots`."""
    versions = [
        {"version": v["version"], "supportedLanguages": list(v["supportedLanguages"]),
         "intents": [{"name": i["name"], "entities": [dict(s) for s in i.get("slots", {}).values()]}
                     for i in v["intents"]]}
        for v in bot["versions"]
    ]  # fmt: skip
    body = {"id": bot["id"], "name": bot.get("name", bot["id"]), "versions": versions,
            "botCompositeTag": composite_tag(bot), "selfUri": self_uri}  # fmt: skip
    if "description" in bot:
        body["description"] = bot["description"]
    return body


def find_version(bot: dict[str, Any], version: str) -> dict[str, Any] | None:
    """The bot's version of this name; the first one when `version` is empty."""
    versions: list[dict[str, Any]] = bot.get("versions", [])
    if not version:
        return versions[0] if versions else None
    return next((v for v in versions if v.get("version") == version), None)


def declared_intents(version: dict[str, Any]) -> list[str]:
    """The intent names a bot version declares."""
    return [str(i["name"]) for i in version.get("intents", [])]


def page(items: list[dict[str, Any]], query: dict[str, str], self_uri: str) -> dict[str, Any] | str:
    """An entity listing page of `items` (pageNumber, pageSize as Genesys reads them), or the error."""
    try:
        number = int(query.get("pageNumber", "1"))
        size = int(query.get("pageSize", "25"))
    except ValueError:
        return "pageNumber and pageSize must be integers"
    if number < 1 or size < 1:
        return "pageNumber and pageSize must be at least 1"
    count = max(1, -(-len(items) // size))
    body: dict[str, Any] = {
        "entities": items[(number - 1) * size: number * size],
        "pageSize": size, "pageNumber": number, "total": len(items), "pageCount": count,
        "firstUri": f"{self_uri}?pageSize={size}&pageNumber=1",
        "lastUri": f"{self_uri}?pageSize={size}&pageNumber={count}",
        "selfUri": f"{self_uri}?pageSize={size}&pageNumber={number}",
    }  # fmt: skip
    if number < count:
        body["nextUri"] = f"{self_uri}?pageSize={size}&pageNumber={number + 1}"
    if number > 1:
        body["previousUri"] = f"{self_uri}?pageSize={size}&pageNumber={number - 1}"
    return body
