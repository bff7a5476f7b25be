"""Parse the messages Genesys posts to the outbound webhook (agent text, typing, receipts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import MalformedMessage
from .rich_content import RichContent, rich_content

KNOWN_TYPES = ("Text", "Structured", "Event", "Receipt")


@dataclass(frozen=True)
class OutboundAttachment:
    """A file an agent sent; `url` points at Genesys' download host."""

    # docs/GENESYS_NOTES.md section 10: these download URLs need OAuth and redirect to a signed
    # URL, so a user's browser cannot open one as given; it is passed on unchanged.
    url: str
    media_type: str | None = None
    mime: str | None = None
    filename: str | None = None
    id: str | None = None
    size_bytes: int | None = None


@dataclass(frozen=True)
class QuickReply:
    """A button the agent offered; `payload` is what a click sends back."""

    text: str
    payload: str


@dataclass(frozen=True)
class OutboundMessage:
    """One webhook message; `type` is Text, Structured, Event, Receipt or Unknown."""

    id: str
    type: str
    raw_type: str | None = None
    integration_id: str | None = None
    to_id: str | None = None
    from_id: str | None = None
    from_nickname: str | None = None
    conversation_id: str | None = None
    originating_entity: str | None = None
    direction: str | None = None
    time: str | None = None
    text: str | None = None
    attachments: tuple[OutboundAttachment, ...] = ()
    quick_replies: tuple[QuickReply, ...] = ()
    typing: bool = False
    typing_duration_ms: int | None = None
    receipt_status: str | None = None
    receipt_reasons: tuple[tuple[str, str], ...] = ()
    is_final_receipt: bool | None = None
    # Cards, carousels, pickers, notifications, and the content types not understood.
    rich: RichContent = field(default_factory=RichContent)
    # How many `content[]` entries the message had, whether or not any of them could be read.
    content_entries: int = 0


def parse_outbound(payload: Any) -> OutboundMessage:
    """Read a decoded webhook body; unknown fields and types are ignored, wrong shapes raise."""
    if not isinstance(payload, Mapping):
        raise MalformedMessage("webhook body must be a JSON object")
    message_id = _str(payload, "id", "")
    if not message_id:
        raise MalformedMessage("webhook message has no id")
    raw_type = _str(payload, "type", "")
    kind = next((t for t in KNOWN_TYPES if raw_type and t.lower() == raw_type.lower()), "Unknown")
    channel = _obj(payload, "channel", "") or {}
    sender = _obj(channel, "from", "channel") or {}
    recipient = _obj(channel, "to", "channel") or {}
    content = _list(payload, "content", "")
    events = _list(payload, "events", "")
    typing, duration = _typing(events) if kind == "Event" else (False, None)
    is_final = _field(payload, "isFinalReceipt")
    if is_final is not None and not isinstance(is_final, bool):
        raise MalformedMessage("isFinalReceipt must be true or false")
    return OutboundMessage(
        id=message_id,
        type=kind,
        raw_type=raw_type,
        # docs/GENESYS_NOTES.md section 5: the integration id is `channel.id`, else `channel.from.id`.
        integration_id=_str(channel, "id", "channel") or _str(sender, "id", "channel.from"),
        to_id=_str(recipient, "id", "channel.to"),
        from_id=_str(sender, "id", "channel.from"),
        from_nickname=_str(sender, "nickname", "channel.from"),
        conversation_id=_str(payload, "conversationId", ""),
        originating_entity=_str(payload, "originatingEntity", ""),
        direction=_str(payload, "direction", ""),
        time=_str(channel, "time", "channel"),
        text=_str(payload, "text", ""),
        attachments=tuple(_attachments(content)),
        quick_replies=tuple(_quick_replies(content)),
        typing=typing,
        typing_duration_ms=duration,
        # docs/GENESYS_NOTES.md section 9: which receipt statuses reach the webhook is unknown, so any
        # string is passed on rather than checked against the documented list.
        receipt_status=_str(payload, "status", "") if kind == "Receipt" else None,
        receipt_reasons=tuple(_reasons(_list(payload, "reasons", ""))),
        is_final_receipt=is_final,
        rich=rich_content(content),
        content_entries=len(content),
    )


def _attachments(content: list[Any]) -> list[OutboundAttachment]:
    found = []
    for item in _content_items(content, "attachment"):
        url = _str(item, "url", "content[].attachment")
        if not url:
            continue  # Nothing a user could open.
        size = _field(item, "contentSizeBytes")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
            raise MalformedMessage("content[].attachment.contentSizeBytes must be an integer")
        found.append(OutboundAttachment(
            url=url,
            media_type=_str(item, "mediaType", "content[].attachment"),
            mime=_str(item, "mime", "content[].attachment"),
            filename=_str(item, "filename", "content[].attachment"),
            id=_str(item, "id", "content[].attachment"),
            size_bytes=size,
        ))
    return found


def _quick_replies(content: list[Any]) -> list[QuickReply]:
    # Assumed from the SDK's ConversationMessageContent model (docs/GENESYS_NOTES.md
    # section 10): `quickReply: {text, payload}` entries, or `quickReplyV2: {actions: [...]}`.
    replies = list(_content_items(content, "quickReply"))
    for group in _content_items(content, "quickReplyV2"):
        replies.extend(_objects(_list(group, "actions", "content[].quickReplyV2"),
                                "content[].quickReplyV2.actions"))
    found = []
    for reply in replies:
        text = _str(reply, "text", "quickReply")
        if text:
            found.append(QuickReply(text=text, payload=_str(reply, "payload", "quickReply") or text))
    return found


def _content_items(content: list[Any], key: str) -> list[Mapping[str, Any]]:
    # Each content entry names its kind in `contentType` and holds it under the camelCase key.
    found = []
    for entry in _objects(content, "content"):
        kind = _str(entry, "contentType", "content[]")
        if kind is not None and kind.lower() != key.lower():
            continue
        item = _obj(entry, key, "content[]")
        if item is not None:
            found.append(item)
    return found


def _typing(events: list[Any]) -> tuple[bool, int | None]:
    for event in _objects(events, "events"):
        if (_str(event, "eventType", "events[]") or "").lower() != "typing":
            continue
        detail = _obj(event, "typing", "events[]") or {}
        state = _str(detail, "type", "events[].typing")
        duration = _field(detail, "duration")
        if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int)):
            raise MalformedMessage("events[].typing.duration must be an integer")
        if state is None or state.lower() == "on":
            return True, duration
    return False, None


def _reasons(reasons: list[Any]) -> list[tuple[str, str]]:
    return [
        (_str(reason, "code", "reasons[]") or "", _str(reason, "message", "reasons[]") or "")
        for reason in _objects(reasons, "reasons")
    ]


def _field(obj: Mapping[str, Any], name: str) -> Any:
    """The value of `name`, matched exactly first, then ignoring case (`nickName`)."""
    if name in obj:
        return obj[name]
    folded = name.casefold()
    for key, value in obj.items():
        if isinstance(key, str) and key.casefold() == folded:
            return value
    return None


def _str(obj: Mapping[str, Any], name: str, where: str) -> str | None:
    value = _field(obj, name)
    if value is None or isinstance(value, str):
        return value
    raise MalformedMessage(f"{_path(where, name)} must be a string")


def _obj(obj: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any] | None:
    value = _field(obj, name)
    if value is None or isinstance(value, Mapping):
        return value
    raise MalformedMessage(f"{_path(where, name)} must be an object")


def _list(obj: Mapping[str, Any], name: str, where: str) -> list[Any]:
    value = _field(obj, name)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise MalformedMessage(f"{_path(where, name)} must be a list")


def _objects(items: list[Any], where: str) -> list[Mapping[str, Any]]:
    if not all(isinstance(item, Mapping) for item in items):
        raise MalformedMessage(f"every entry of {where} must be an object")
    return items


def _path(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name
