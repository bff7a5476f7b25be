"""The strict check of a bot's answer to a Bot Connector turn, as the emulated Architect applies it.

Field names and enums are the SDK's `OutgoingMessageRequest` (botState Complete, Failed, MoreData),
`ReplyMessage`, `ConversationContentQuickReply` (action Message) and `BotEntityValue` (its types).
Unknown fields are refused, so a misspelt field that Genesys would drop fails loudly in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .bot_list import ENTITY_TYPES

BOT_STATES = ("Complete", "Failed", "MoreData")
REPLY_TYPES = ("Text", "Structured")  # what a bot sends; ReplyMessage's other types are Genesys' own
QUICK_REPLY_ACTIONS = ("Message",)
# OutgoingMessageRequest's fields: the turn's answer, and the request fields a bot may echo.
_REPLY_FIELDS = {"botState", "replyMessages", "intent", "confidence", "entities", "parameters", "errorInfo",
                 "botId", "botVersion", "botSessionId", "languageCode"}  # fmt: skip
_ECHOED = ("botId", "botVersion", "botSessionId", "languageCode")
_MESSAGE_FIELDS = {"type", "text", "content"}
_CONTENT_FIELDS = {"contentType", "quickReply"}
_QUICK_REPLY_FIELDS = {"text", "payload", "image", "action", "summaryText"}
_ENTITY_FIELDS = {"name", "type", "value", "values"}
# ErrorInfo is {message, code} in the SDK; {errorCode, errorMessage} in bot samples. Both are read.
_ERROR_FIELDS = {"code", "message", "errorCode", "errorMessage"}


class ReplyError(ValueError):
    """What is wrong with a bot's answer (Architect then takes the Failed path)."""


@dataclass
class BotReply:
    """A bot's answer that passed every check."""

    state: str
    messages: list[dict[str, Any]]
    intent: str | None = None
    confidence: float | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    parameters: dict[str, str] = field(default_factory=dict)
    error: dict[str, str] = field(default_factory=dict)  # {code, message}, from either spelling


def _known(obj: Any, allowed: set[str], path: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ReplyError(f"{path} must be a JSON object")
    unknown = sorted(k for k in obj if k not in allowed)
    if unknown:
        raise ReplyError(f"{path} has unknown field(s) {', '.join(unknown)}")
    return obj


def _text(obj: dict[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise ReplyError(f"{path}.{key} is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ReplyError(f"{path}.{key} must be a non-empty string")
    return value


def check_reply(data: Any, request: dict[str, Any], intents: list[str]) -> BotReply:
    """The reply if it is valid for this request and the bot's declared intents; ReplyError otherwise."""
    body = _known(data, _REPLY_FIELDS, "reply")
    state = body.get("botState")
    if state not in BOT_STATES:
        raise ReplyError(f"reply.botState must be one of {', '.join(BOT_STATES)}, not {state!r}")
    for key in _ECHOED:
        if key in body and body[key] != request[key]:
            raise ReplyError(f"reply.{key} {body[key]!r} is not the request's {request[key]!r}")
    reply = BotReply(state=state, messages=_messages(body.get("replyMessages", [])))
    reply.intent = _text(body, "intent", "reply", required=state == "Complete")
    if state == "Complete" and reply.intent not in intents:
        declared = ", ".join(intents) or "none"
        raise ReplyError(f"reply.intent {reply.intent!r} is not declared in the bot list (declared: {declared})")
    confidence = body.get("confidence")
    if confidence is not None:
        if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
            raise ReplyError("reply.confidence must be a number from 0 to 1")
        reply.confidence = float(confidence)
    reply.entities = _entities(body.get("entities", []))
    reply.parameters = _parameters(body.get("parameters", {}))
    if "errorInfo" in body:
        reply.error = _error_info(body["errorInfo"])
    return reply


def _messages(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ReplyError("reply.replyMessages must be an array")
    for index, message in enumerate(value):
        path = f"reply.replyMessages[{index}]"
        message = _known(message, _MESSAGE_FIELDS, path)
        kind = message.get("type")
        if kind not in REPLY_TYPES:
            raise ReplyError(f"{path}.type must be one of {', '.join(REPLY_TYPES)}, not {kind!r}")
        _text(message, "text", path)  # assumed required on Structured too: the quick replies' prompt
        content = message.get("content")
        if kind == "Text":
            if content is not None:
                raise ReplyError(f"{path}: a Text message carries no content (quick replies need Structured)")
            continue
        if not isinstance(content, list) or not content:
            raise ReplyError(f"{path}.content must be a non-empty array of QuickReply items")
        for number, item in enumerate(content):
            _quick_reply(item, f"{path}.content[{number}]")
    return list(value)


def _quick_reply(item: Any, path: str) -> None:
    item = _known(item, _CONTENT_FIELDS, path)
    if item.get("contentType") != "QuickReply":
        raise ReplyError(f"{path}.contentType must be QuickReply, not {item.get('contentType')!r}")
    reply = _known(item.get("quickReply"), _QUICK_REPLY_FIELDS, f"{path}.quickReply")
    _text(reply, "text", f"{path}.quickReply")
    _text(reply, "payload", f"{path}.quickReply")
    if reply.get("action") not in QUICK_REPLY_ACTIONS:
        raise ReplyError(f"{path}.quickReply.action must be Message, not {reply.get('action')!r}")
    for key in ("image", "summaryText"):
        _text(reply, key, f"{path}.quickReply", required=False)


def _entities(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ReplyError("reply.entities must be an array")
    for index, entity in enumerate(value):
        path = f"reply.entities[{index}]"
        entity = _known(entity, _ENTITY_FIELDS, path)
        _text(entity, "name", path)
        kind = entity.get("type")
        if kind not in ENTITY_TYPES:
            raise ReplyError(f"{path}.type must be one of {', '.join(ENTITY_TYPES)}, not {kind!r}")
        if kind.endswith("Collection"):
            values = entity.get("values")
            if "value" in entity or not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ReplyError(f"{path}: a {kind} carries `values`, an array of strings (no `value`)")
        elif "values" in entity or not isinstance(entity.get("value"), str):
            raise ReplyError(f"{path}: a {kind} carries `value`, a string (no `values`)")
    return list(value)


def _parameters(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ReplyError("reply.parameters must be an object of string values")
    return dict(value)


def _error_info(value: Any) -> dict[str, str]:
    info = _known(value, _ERROR_FIELDS, "reply.errorInfo")
    if any(not isinstance(v, str) for v in info.values()):
        raise ReplyError("reply.errorInfo values must be strings")
    return {"code": info.get("code", info.get("errorCode", "")),
            "message": info.get("message", info.get("errorMessage", ""))}  # fmt: skip
