"""The Bot Connector wire format (docs/CONTRACT.md 12): the turn Genesys sends, the answer it reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...refusals import BadInput
from .settings import BotConnectorSettings

BOT_VERSION = "1"
INPUT_TYPES = ("Text", "Structured")
MAX_ID = 256
MAX_PARAMETERS = 100


@dataclass(frozen=True)
class BotTurn:
    """One customer message, as Genesys sends it to the bot."""

    bot_id: str
    bot_session_id: str
    message_id: str
    conversation_id: str
    text: str | None
    payload: str | None = None
    language: str | None = None
    # Minutes without a message after which the bot session is forgotten; None: the store's idle expiry.
    session_timeout_minutes: float | None = None
    parameters: dict[str, str] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        """The flow's `input.data`."""
        data: dict[str, Any] = {}
        if self.payload is not None:
            data["payload"] = self.payload
        if self.parameters:
            data["parameters"] = dict(self.parameters)
        return data


def _id(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        raise BadInput(f"{name} is required")
    if (not isinstance(value, str) or not value or len(value) > MAX_ID
            or any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in value)):
        raise BadInput(f"{name} must be a non-empty string of at most {MAX_ID} characters without control characters")
    return value


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(f"{name} must be a string")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise BadInput(f"{name} holds a lone surrogate, which is not text")
    return value


def parse_turn(body: Mapping[str, Any]) -> BotTurn:
    """The validated request body; BadInput (400) naming the first field that is wrong."""
    bot_id = _id(body, "botId")
    session_id = _id(body, "botSessionId")
    message_id = _id(body, "messageId")
    conversation_id = _id(body, "genesysConversationId")
    message = body.get("inputMessage")
    if not isinstance(message, dict):
        raise BadInput("inputMessage is required and must be an object")
    kind = message.get("type")
    if kind not in INPUT_TYPES:
        raise BadInput(f"inputMessage.type must be one of {', '.join(INPUT_TYPES)}, not {kind!r}"
                       if isinstance(kind, str) else "inputMessage.type is required (Text or Structured)")
    text = _text(message.get("text"), "inputMessage.text")
    payload = None
    content = message.get("content")
    if content is not None:
        if not isinstance(content, list):
            raise BadInput("inputMessage.content must be an array")
        for i, item in enumerate(content):
            if not isinstance(item, dict):
                raise BadInput(f"inputMessage.content[{i}] must be an object")
            if item.get("contentType") == "ButtonResponse":
                button = item.get("buttonResponse")
                if not isinstance(button, dict):
                    raise BadInput(f"inputMessage.content[{i}].buttonResponse must be an object")
                text = _text(button.get("text"), f"inputMessage.content[{i}].buttonResponse.text") or text
                payload = _text(button.get("payload"), f"inputMessage.content[{i}].buttonResponse.payload")
    timeout = body.get("botSessionTimeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
        raise BadInput("botSessionTimeout must be a positive number of minutes")
    return BotTurn(bot_id, session_id, message_id, conversation_id, text, payload,
                   _text(body.get("languageCode"), "languageCode"), timeout, _parameters(body.get("parameters")))


def _parameters(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_PARAMETERS:
        raise BadInput(f"parameters must be an object of at most {MAX_PARAMETERS} string values")
    for key, item in value.items():
        if not isinstance(item, str):
            raise BadInput(f"parameters.{key} must be a string")
        _text(item, f"parameters.{key}")
    return dict(value)


def reply_messages(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The bot outputs of a turn as Genesys reply messages, in order."""
    replies: list[dict[str, Any]] = []
    for event in events:
        if event.get("type") != "output" or event.get("source") != "bot":
            continue
        text = event.get("text") or ""
        raw = event.get("data")
        data: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
        quick = [q for q in data.get("quickReplies") or [] if isinstance(q, dict) and q.get("title")]
        if quick:
            replies.append({"type": "Structured", "text": text, "content": [
                {"contentType": "QuickReply", "quickReply": {
                    "text": str(q["title"]), "payload": str(q.get("payload") or q["title"]), "action": "Message"}}
                for q in quick]})
        elif text:
            replies.append({"type": "Text", "text": text})
    return replies


def more_data(replies: list[dict[str, Any]]) -> dict[str, Any]:
    return {"botState": "MoreData", "replyMessages": replies}


def complete(replies: list[dict[str, Any]], intent: str, parameters: Mapping[str, str]) -> dict[str, Any]:
    answer: dict[str, Any] = {"botState": "Complete", "replyMessages": replies, "intent": intent,
                              "confidence": 1.0, "entities": []}
    if parameters:
        answer["parameters"] = dict(parameters)
    return answer


def failed(code: str, message: str, replies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"botState": "Failed", "replyMessages": replies or [],
            "errorInfo": {"errorCode": code, "errorMessage": message}}


def bot_description(bot: BotConnectorSettings) -> dict[str, Any]:
    """The bot as `GET .../botconnector/bots` lists it."""
    return {"id": bot.bot_id, "name": bot.bot_name, "description": bot.description,
            "versions": [{"version": BOT_VERSION, "supportedLanguages": list(bot.languages),
                          "intents": [{"name": name, "entities": []} for name in bot.intents]}]}
