"""Receipts about the user's messages: a Failed one tells the user which message and why, in words.

Genesys posts a `Receipt` webhook about an inbound message with the id it answered that message
with (docs/GENESYS_NOTES.md section 9). The outbox keeps the last SENT_MESSAGES_KEPT of those ids
with the start of each text; a Failed receipt about one of them names it. A receipt may come before
the outbox has stored the id of its message (Genesys answers the send and posts the receipt at
about the same time): it is parked, and the outbox tells the user once it stores that id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .state import PARKED_FAILURES, SENT_MESSAGES, SENT_MESSAGES_KEPT

EXCERPT_CHARS = 60
# What a Failed receipt's reason code means to the user (the codes of the SDK's ConversationReason).
REASONS = {
    "MessageExpired": "it expired before it could be delivered",
    "RateLimited": "too many messages were sent in a short time",
    "MessageNotAllowed": "it is not allowed in this conversation",
    "DataFiltered": "it is not allowed in this conversation",
    "UnsupportedMessage": "this kind of message is not supported",
    "UnknownMessage": "this kind of message is not supported",
    "InvalidMessageStructure": "this kind of message is not supported",
    "MediaTypeNotAllowed": "this type of file is not allowed",
    "InvalidMediaContentLength": "the file is too large",
    "RecipientOptedOut": "the conversation no longer takes messages",
    "InvalidDestination": "the conversation was not found",
}
SOMETHING_WENT_WRONG = "of a problem on the contact centre's side"


def remember_sent(context: dict[str, Any], genesys_id: str, item: Mapping[str, Any]) -> None:
    """Keep the id Genesys gave a sent outbox item, with what the user will recognise of it."""
    text = str(item.get("text") or "")
    files = [str(a.get("filename") or "") for a in item.get("attachments") or [] if isinstance(a, dict)]
    what = text or (files[0] if files and files[0] else "")
    kept = [e for e in context.get(SENT_MESSAGES) or [] if isinstance(e, dict)]
    context[SENT_MESSAGES] = [*kept, {"id": genesys_id, "text": what[:EXCERPT_CHARS * 2]}][-SENT_MESSAGES_KEPT:]


def is_sent(context: Mapping[str, Any], about_id: str) -> bool:
    """Whether the outbox has stored the id of the message this receipt is about."""
    return any(isinstance(e, dict) and e.get("id") == about_id for e in context.get(SENT_MESSAGES) or [])


def park_failure(context: dict[str, Any], about_id: str, reasons: Sequence[tuple[str, str]]) -> None:
    """Keep a Failed receipt whose message id the outbox has not stored yet."""
    kept = [e for e in context.get(PARKED_FAILURES) or [] if isinstance(e, dict)]
    entry = {"id": about_id, "reasons": [list(r) for r in reasons]}
    context[PARKED_FAILURES] = [*kept, entry][-SENT_MESSAGES_KEPT:]


def unpark_failure(context: dict[str, Any], genesys_id: str) -> list[tuple[str, str]] | None:
    """The reasons of a parked Failed receipt about this message id (and forget it), if any."""
    kept = [e for e in context.get(PARKED_FAILURES) or [] if isinstance(e, dict)]
    found = next((e for e in kept if e.get("id") == genesys_id), None)
    if found is None:
        return None
    context[PARKED_FAILURES] = [e for e in kept if e is not found]
    return [(str(r[0]), str(r[1])) for r in found.get("reasons") or [] if isinstance(r, list) and len(r) == 2]


def failed_notice(context: Mapping[str, Any], about_id: str, reasons: Sequence[tuple[str, str]]) -> str:
    """The system line telling the user that one of their messages did not reach the agent."""
    sent = next((e for e in reversed(context.get(SENT_MESSAGES) or [])
                 if isinstance(e, dict) and e.get("id") == about_id), None)
    why = next((REASONS[code] for code, _ in reasons if code in REASONS), SOMETHING_WENT_WRONG)
    text = str(sent.get("text") or "") if sent else ""
    if text:
        excerpt = text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS].rstrip() + "…"
        return f"Your message \u201c{excerpt}\u201d could not be delivered to the agent, because {why}."
    return f"One of your messages could not be delivered to the agent, because {why}."
