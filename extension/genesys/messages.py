"""Wire bodies for the inbound Open Messaging API, and splitting long texts to a safe size."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .attachments import Attachment, attachment_content
from .outbound import (
    OutboundAttachment,
    OutboundMessage,
    QuickReply,
    parse_outbound,
)

__all__ = [
    "Attachment",
    "OutboundAttachment",
    "OutboundMessage",
    "QuickReply",
    "delivery_receipt",
    "inbound_text",
    "inbound_typing",
    "parse_outbound",
    "split_text",
    "wire_time",
]

# Agents can type at most 4000 characters on this channel and no inbound limit is published
#, so 4000 is used as the safe size in both directions.
TEXT_LIMIT = 4000

ID_TYPES = ("Opaque", "Email", "Phone")
RECEIPT_STATUSES = ("Delivered", "Failed")


def wire_time(when: datetime | None = None) -> str:
    """ISO-8601 UTC with milliseconds and `Z`, as Genesys writes it; now when `when` is None."""
    moment = datetime.now(UTC) if when is None else when.astimezone(UTC)
    # isoformat is several times cheaper than strftime, and this runs for every receipt.
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def inbound_text(
    message_id: str,
    from_id: str,
    text: str,
    *,
    time: datetime | None = None,
    attachment: Attachment | None = None,
    custom_attributes: Mapping[str, Any] | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    email: str | None = None,
    nickname: str | None = None,
    id_type: str = "Opaque",
) -> dict[str, Any]:
    """Body of `POST .../{integrationId}/inbound/open/message` for one customer message.

    One attachment at most: the SDK's OpenMessageContent allows a single Attachment item per message.
    """
    sender = _recipient(from_id, id_type)
    for key, value in (("firstName", first_name), ("lastName", last_name),
                       ("email", email), ("nickname", nickname)):
        if value:
            sender[key] = value
    channel: dict[str, Any] = {"messageId": _non_empty(message_id, "message_id"),
                               "from": sender, "time": wire_time(time)}
    if custom_attributes:
        # No size limit is published; keeping them small is the caller's.
        channel["metadata"] = {"customAttributes": _flat_strings(custom_attributes)}
    body: dict[str, Any] = {"channel": channel}
    if text:
        body["text"] = text
    if attachment is not None:
        body["content"] = [attachment_content(attachment)]
    if "text" not in body and "content" not in body:
        raise ValueError("an inbound message needs text or an attachment")
    return body


def inbound_structured_response(
    message_id: str,
    from_id: str,
    text: str,
    payload: str,
    originating_message_id: str,
    *,
    response_type: str = "QuickReply",
    time: datetime | None = None,
    id_type: str = "Opaque",
) -> dict[str, Any]:
    """Body of `POST .../{integrationId}/inbound/open/structured/response`: the customer chose a
    quick reply (or button) that the agent message `originating_message_id` offered.

    The SDK's OpenInboundStructuredResponseMessage: `channel`, `buttonResponse` (ContentButtonResponse:
    type QuickReply | Button | DatePicker, text, payload) and `originatingMessageId`.
    """
    channel = {"messageId": _non_empty(message_id, "message_id"), "from": _recipient(from_id, id_type),
               "time": wire_time(time)}
    return {
        "channel": channel,
        "buttonResponse": {"type": response_type, "text": _non_empty(text, "text"),
                           "payload": _non_empty(payload, "payload")},
        "originatingMessageId": _non_empty(originating_message_id, "originating_message_id"),
    }


def inbound_typing(
    from_id: str, *, time: datetime | None = None, id_type: str = "Opaque"
) -> dict[str, Any]:
    """Body of `POST .../{integrationId}/inbound/open/event`: the customer is typing."""
    return {
        "channel": {"from": _recipient(from_id, id_type), "time": wire_time(time)},
        "events": [{"eventType": "Typing"}],
    }


def delivery_receipt(
    message_id: str,
    to_id: str,
    status: str,
    reasons: Sequence[tuple[str, str]] = (),
    *,
    time: datetime | None = None,
    id_type: str = "Opaque",
) -> dict[str, Any]:
    """Body of `POST .../{integrationId}/inbound/open/receipt` about agent message `message_id`."""
    if status not in RECEIPT_STATUSES:
        raise ValueError(f"receipt status must be one of {RECEIPT_STATUSES}, not {status!r}")
    body: dict[str, Any] = {
        "id": _non_empty(message_id, "message_id"),
        "channel": {"to": _recipient(to_id, id_type), "time": wire_time(time)},
        "status": status,
        "isFinalReceipt": True,
    }
    if reasons:
        body["reasons"] = [{"code": code, "message": message} for code, message in reasons]
    return body


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut `text` into pieces of at most `limit` characters, at whitespace where possible."""
    if limit < 1:
        raise ValueError("limit must be positive")
    # Lengths count UTF-16 units: the most any counter would say, so a piece never runs over
    # whichever way Genesys counts (the inbound limit is unpublished).
    units = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end, used = start, 0
        while end < len(text) and used + units[end] <= limit:
            used += units[end]
            end += 1
        if end == start:  # One character wider than the limit: it still has to go somewhere.
            end += 1
        if end < len(text) and not text[end].isspace():
            cut = _last_space(text, start, end)
            end = cut if cut > start else end
        piece = text[start:end].rstrip()
        if piece:
            pieces.append(piece)
        start = end
        while start < len(text) and text[start].isspace():
            start += 1
    return pieces


def _last_space(text: str, start: int, end: int) -> int:
    for i in range(end - 1, start, -1):
        if text[i].isspace():
            return i
    return start


def _recipient(recipient_id: str, id_type: str) -> dict[str, Any]:
    if id_type not in ID_TYPES:
        raise ValueError(f"idType must be one of {ID_TYPES}, not {id_type!r}")
    return {"id": _non_empty(recipient_id, "recipient id"), "idType": id_type}


def _flat_strings(values: Mapping[str, Any]) -> dict[str, str]:
    # Custom attributes become participant data: a flat string-to-string map.
    flat: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        if not isinstance(key, str) or isinstance(value, Mapping | list | tuple | set | bytes):
            raise ValueError(f"custom attribute {key!r} must be a string key with a plain value")
        if isinstance(value, bool):
            flat[key] = "true" if value else "false"  # JSON spelling, not Python's.
        else:
            flat[key] = value if isinstance(value, str) else str(value)
    return flat


def _non_empty(value: str, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    return value
