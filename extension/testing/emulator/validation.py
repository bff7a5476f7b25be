"""Strict checks of inbound Open Messaging bodies, answered the way Genesys answers a bad body.

Field names and enums come from the official SDK models (OpenInboundNormalizedMessage,
OpenInboundNormalizedEvent, OpenInboundNormalizedReceipt). Unknown fields are refused on purpose:
a misspelt field that Genesys would silently drop should fail loudly in tests.
"""

from __future__ import annotations

from typing import Any

from .ids import parse_iso

ID_TYPES = ("Email", "Phone", "Opaque")
MEDIA_TYPES = ("Image", "Video", "Audio", "File", "Link")
EVENT_TYPES = ("Typing",)
RECEIPT_STATUSES = ("Sent", "Delivered", "Failed", "Published", "Removed")
REASON_CODES = (
    "MessageExpired", "RateLimited", "MessageNotAllowed", "GeneralError", "UnsupportedMessage",
    "UnknownMessage", "InvalidMessageStructure", "InvalidDestination", "ServerError",
    "MediaTypeNotAllowed", "InvalidMediaContentLength", "RecipientOptedOut", "DataFiltered",
)  # fmt: skip

_MESSAGE_FIELDS = {"channel", "text", "content", "metadata"}
_MESSAGE_CHANNEL_FIELDS = {"from", "time", "messageId", "metadata"}
_FROM_FIELDS = {"nickname", "id", "idType", "firstName", "lastName", "image", "email"}
_CONTENT_FIELDS = {"contentType", "attachment"}
_ATTACHMENT_FIELDS = {"id", "mediaType", "url", "mime", "text", "sha256", "filename", "thumbnail"}
# OpenInboundStructuredResponseMessage and its ContentButtonResponse (SDK models).
_STRUCTURED_FIELDS = {"channel", "buttonResponse", "originatingMessageId"}
_BUTTON_RESPONSE_FIELDS = {"id", "type", "text", "payload"}
BUTTON_RESPONSE_TYPES = ("Button", "QuickReply", "DatePicker")
_EVENT_FIELDS = {"channel", "events"}
_EVENT_CHANNEL_FIELDS = {"from", "time"}
_EVENT_ITEM_FIELDS = {"eventType", "typing"}
_RECEIPT_FIELDS = {"id", "channel", "status", "reasons", "isFinalReceipt"}
_RECEIPT_CHANNEL_FIELDS = {"to", "time"}
# What the deprecated `/inbound/open` body carried and the current endpoints do not accept.
_DEPRECATED_TOP = ("platform", "direction", "type")
_DEPRECATED_CHANNEL = ("to", "platform", "type")


class BodyError(ValueError):
    """A body Genesys would answer with 400; carries the Genesys error code and field path."""

    def __init__(self, message: str, field: str, code: str = "bad.request") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _object(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        raise BodyError(f"{path} is required", path)
    if not isinstance(value, dict):
        raise BodyError(f"{path} must be an object", path, "invalid.value")
    return value


def _string(parent: dict[str, Any], key: str, path: str, required: bool = True) -> str | None:
    value = parent.get(key)
    where = _join(path, key)
    if value is None:
        if required:
            raise BodyError(f"{where} is required", where)
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise BodyError(f"{where} must be a non-empty string", where, "invalid.value")
    return value


def _enum(parent: dict[str, Any], key: str, path: str, allowed: tuple[str, ...]) -> str:
    value = _string(parent, key, path)
    if value not in allowed:
        where = _join(path, key)
        raise BodyError(f"{where} must be one of {', '.join(allowed)}", where, "invalid.value")
    return value


def _known_fields(obj: dict[str, Any], allowed: set[str], path: str) -> None:
    for key in obj:
        if key not in allowed:
            where = _join(path, key)
            raise BodyError(f"Unrecognized field '{where}'", where)


def _string_map(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise BodyError(f"{path} must be an object of strings", path, "invalid.value")
    for key, item in value.items():
        if not isinstance(item, str):
            raise BodyError(
                f"{path}.{key} must be a string; nested values are not allowed",
                f"{path}.{key}",
                "invalid.value",
            )


def _time(channel: dict[str, Any], path: str) -> None:
    value = _string(channel, "time", path)
    if value is None or parse_iso(value) is None:
        raise BodyError(
            f"{path}.time must be an ISO-8601 date and time with a zone, e.g. "
            "2026-01-15T10:00:00.000Z",
            f"{path}.time",
            "invalid.value",
        )


def _recipient(channel: dict[str, Any], key: str, path: str) -> None:
    who = _object(channel.get(key), f"{path}.{key}")
    _known_fields(who, _FROM_FIELDS, f"{path}.{key}")
    _string(who, "id", f"{path}.{key}")
    _enum(who, "idType", f"{path}.{key}", ID_TYPES)
    for name in ("nickname", "firstName", "lastName", "image", "email"):
        _string(who, name, f"{path}.{key}", required=False)


def _refuse_deprecated(body: dict[str, Any]) -> None:
    channel = body.get("channel")
    old = [k for k in _DEPRECATED_TOP if k in body]
    if isinstance(channel, dict):
        old += [f"channel.{k}" for k in _DEPRECATED_CHANNEL if k in channel]
    if old:
        raise BodyError(
            "This body uses the deprecated /api/v2/conversations/messages/inbound/open shape "
            f"({', '.join(old)}); the integration-scoped endpoints take channel.from only",
            old[0],
        )


def _content(content: Any) -> None:
    # OpenMessageContent: 'If contentType = "Attachment" only one item is allowed'.
    if not isinstance(content, list):
        raise BodyError("content must be an array", "content", "invalid.value")
    if len(content) > 1:
        raise BodyError(f"content allows one Attachment item per message, not {len(content)}", "content",
                        "invalid.value")  # fmt: skip
    for index, item in enumerate(content):
        path = f"content[{index}]"
        item = _object(item, path)
        _known_fields(item, _CONTENT_FIELDS, path)
        kind = item.get("contentType", "Attachment")
        if kind != "Attachment":
            raise BodyError(f"{path}.contentType must be Attachment", f"{path}.contentType",
                            "invalid.value")  # fmt: skip
        _attachment(_object(item.get("attachment"), f"{path}.attachment"), f"{path}.attachment")


def _attachment(attachment: dict[str, Any], path: str) -> None:
    # OpenContentAttachment: mediaType, url and mime are required.
    _known_fields(attachment, _ATTACHMENT_FIELDS, path)
    _enum(attachment, "mediaType", path, MEDIA_TYPES)
    _string(attachment, "url", path)
    mime = _string(attachment, "mime", path) or ""
    if "/" not in mime.strip("/"):
        raise BodyError(f"{path}.mime must be a MIME type such as image/png", f"{path}.mime", "invalid.value")
    for name in ("filename", "id", "text", "sha256"):
        _string(attachment, name, path, required=False)


def validate_message(body: Any) -> None:
    """Check an inbound message body; BodyError on the first problem."""
    body = _object(body, "body")
    _refuse_deprecated(body)
    _known_fields(body, _MESSAGE_FIELDS, "")
    channel = _object(body.get("channel"), "channel")
    _known_fields(channel, _MESSAGE_CHANNEL_FIELDS, "channel")
    _recipient(channel, "from", "channel")
    _time(channel, "channel")
    _string(channel, "messageId", "channel", required=False)
    if "metadata" in channel:
        metadata = _object(channel["metadata"], "channel.metadata")
        if "customAttributes" in metadata:
            _string_map(metadata["customAttributes"], "channel.metadata.customAttributes")
    if "metadata" in body:
        _string_map(body["metadata"], "metadata")
    text = body.get("text")
    if text is not None and not isinstance(text, str):
        raise BodyError("text must be a string", "text", "invalid.value")
    if "content" in body:
        _content(body["content"])
    if not text and not body.get("content"):
        raise BodyError("A message needs text or content", "text")


def validate_structured_response(body: Any) -> None:
    """Check an inbound structured response (a quick reply or button the customer chose)."""
    body = _object(body, "body")
    _known_fields(body, _STRUCTURED_FIELDS, "")
    channel = _object(body.get("channel"), "channel")
    _known_fields(channel, _MESSAGE_CHANNEL_FIELDS, "channel")
    _recipient(channel, "from", "channel")
    _time(channel, "channel")
    _string(channel, "messageId", "channel", required=False)
    response = _object(body.get("buttonResponse"), "buttonResponse")
    _known_fields(response, _BUTTON_RESPONSE_FIELDS, "buttonResponse")
    _enum(response, "type", "buttonResponse", BUTTON_RESPONSE_TYPES)
    _string(response, "text", "buttonResponse")
    _string(response, "payload", "buttonResponse")
    _string(response, "id", "buttonResponse", required=False)
    _string(body, "originatingMessageId", "")


def validate_event(body: Any) -> None:
    """Check an inbound event (Typing) body."""
    body = _object(body, "body")
    _refuse_deprecated(body)
    _known_fields(body, _EVENT_FIELDS, "")
    channel = _object(body.get("channel"), "channel")
    _known_fields(channel, _EVENT_CHANNEL_FIELDS, "channel")
    _recipient(channel, "from", "channel")
    _time(channel, "channel")
    events = body.get("events")
    if not isinstance(events, list) or not events:
        raise BodyError("events must be a non-empty array", "events")
    for index, event in enumerate(events):
        path = f"events[{index}]"
        event = _object(event, path)
        _known_fields(event, _EVENT_ITEM_FIELDS, path)
        _enum(event, "eventType", path, EVENT_TYPES)


def validate_receipt(body: Any) -> None:
    """Check an inbound receipt about an agent message."""
    body = _object(body, "body")
    _known_fields(body, _RECEIPT_FIELDS, "")
    _string(body, "id", "")
    channel = _object(body.get("channel"), "channel")
    _known_fields(channel, _RECEIPT_CHANNEL_FIELDS, "channel")
    _recipient(channel, "to", "channel")
    _time(channel, "channel")
    _enum(body, "status", "", RECEIPT_STATUSES)
    final = body.get("isFinalReceipt")
    if final is not None and not isinstance(final, bool):
        raise BodyError("isFinalReceipt must be a boolean", "isFinalReceipt", "invalid.value")
    reasons = body.get("reasons", [])
    if not isinstance(reasons, list):
        raise BodyError("reasons must be an array", "reasons", "invalid.value")
    for index, reason in enumerate(reasons):
        reason = _object(reason, f"reasons[{index}]")
        _enum(reason, "code", f"reasons[{index}]", REASON_CODES)
        _string(reason, "message", f"reasons[{index}]", required=False)
