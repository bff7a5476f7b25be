"""The bodies Genesys posts to an integration's webhook (docs/GENESYS_NOTES.md section 5)."""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from .ids import iso, message_id
from .state import Conversation

TYPING_DURATION_MS = 5000



class Sender(Protocol):
    """What outbound messages name as their sender: an Open Messaging or Bot Connector integration."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


Attachment = dict[str, Any]
QuickReply = str | dict[str, str]


def channel(
    integration: Sender, conversation: Conversation, msg_id: str, now: float
) -> dict[str, Any]:
    """The `channel` of an outbound message: to the end user, from the integration."""
    return {
        "id": integration.id,
        "platform": "Open",
        "type": "Private",
        "messageId": msg_id,
        "to": {"id": conversation.customer_id, "idType": conversation.customer_id_type},
        # The nickname is the integration's name, never the agent's.
        "from": {"nickname": integration.name, "id": integration.id, "idType": "Opaque"},
        "time": iso(now),
    }


def media_type_for(mime: str | None) -> str:
    """The Open Messaging media type for a MIME type."""
    major = (mime or "").split("/", 1)[0].lower()
    return {"image": "Image", "video": "Video", "audio": "Audio"}.get(major, "File")


def attachment_content(attachment: Attachment) -> dict[str, Any]:
    """One `content[]` item for an attachment given as {url, mime, filename, mediaType}.

    Genesys always names the MIME type of an agent's file, so one is guessed when not given.
    """
    mime = attachment.get("mime") or _guess_mime(attachment.get("filename") or attachment["url"])
    body: dict[str, Any] = {
        "id": attachment.get("id") or message_id(),
        "mediaType": attachment.get("mediaType") or media_type_for(mime),
        "url": attachment["url"],
        "mime": mime,
    }
    for key in ("filename", "contentSizeBytes", "text"):
        if attachment.get(key) is not None:
            body[key] = attachment[key]
    return {"contentType": "Attachment", "attachment": body}


def _guess_mime(name: str) -> str:
    return mimetypes.guess_type(name.split("?", 1)[0], strict=False)[0] or "application/octet-stream"


def quick_reply_content(reply: QuickReply) -> dict[str, Any]:
    """One `content[]` item for a quick reply given as a text or {text, payload}."""
    if isinstance(reply, str):
        text, payload = reply, reply
    else:
        text = reply.get("text") or reply.get("title") or ""
        payload = reply.get("payload") or text
    return {
        "contentType": "QuickReply",
        "quickReply": {"text": text, "payload": payload, "action": "Message"},
    }


def agent_message(
    integration: Sender,
    conversation: Conversation,
    now: float,
    text: str | None,
    *,
    attachments: Sequence[Attachment] = (),
    quick_replies: Sequence[QuickReply] = (),
    rich: Sequence[Mapping[str, Any]] = (),
    originating_entity: str = "Human",
) -> dict[str, Any]:
    """A Text message (Structured when it carries quick replies or `rich` content: entries of the
    SDK's ConversationMessageContent such as Card, Carousel, ListPicker, DatePicker, Notification)
    from an agent or a flow."""
    msg_id = message_id()
    body: dict[str, Any] = {
        "id": msg_id,
        "channel": channel(integration, conversation, msg_id, now),
        "type": "Structured" if quick_replies or rich else "Text",
    }
    if text:
        body["text"] = text
    content = [attachment_content(a) for a in attachments]
    content += [quick_reply_content(q) for q in quick_replies]
    content += [dict(entry) for entry in rich]
    if content:
        body["content"] = content
    body["originatingEntity"] = originating_entity
    body["direction"] = "Outbound"
    body["conversationId"] = conversation.id
    return body


def typing_event(
    integration: Sender, conversation: Conversation, now: float
) -> dict[str, Any]:
    """An Event message: the agent is typing."""
    msg_id = message_id()
    return {
        "id": msg_id,
        "channel": channel(integration, conversation, msg_id, now),
        "type": "Event",
        "events": [
            {"eventType": "Typing", "typing": {"type": "On", "duration": TYPING_DURATION_MS}}
        ],
        "direction": "Outbound",
        "conversationId": conversation.id,
    }


def receipt(
    integration: Sender,
    conversation: Conversation,
    now: float,
    about_id: str,
    status: str = "Delivered",
    reasons: Sequence[dict[str, str]] = (),
) -> dict[str, Any]:
    """A Receipt about an inbound message.

    Not verified against Genesys (docs/GENESYS_NOTES.md section 9): which statuses reach the webhook and
    which ids they carry. Here `id` is the Genesys message id answered to the inbound call.
    """
    body: dict[str, Any] = {
        "id": about_id,
        "channel": channel(integration, conversation, about_id, now),
        "type": "Receipt",
        "status": status,
        "isFinalReceipt": True,
        "direction": "Inbound",
        "conversationId": conversation.id,
    }
    if reasons:
        body["reasons"] = list(reasons)
    return body
