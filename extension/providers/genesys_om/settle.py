"""A handover's outbox: user messages as queued items, and what becomes of them when it ends."""

from __future__ import annotations

from typing import Any

from ...genesys.messages import TEXT_LIMIT, split_text
from .state import HandoverState

NOT_DELIVERED_AT_END = "The conversation with the agent ended before this message reached them: \u201c{text}\u201d"
NOT_DELIVERED_ATTACHMENT = "the attachment {name}"
# A notice quotes at most this much of the message it is about.
QUOTE_LIMIT = 200


def outbox_items(state: HandoverState, text: str, attachments: list[dict[str, Any]],
                 queued_at: float) -> list[dict[str, Any]]:
    """The outbox items of one user message: as many inbound messages as Genesys needs, in order.

    A text over Genesys' size goes as several messages; the same rule cuts the transcript
    (transcript.py), so no inbound message is ever over the limit. Genesys takes one attachment
    per message: the first rides on the last piece of text, each other one goes on its own.
    Every item has its own stable messageId.
    """
    pieces = split_text(text, TEXT_LIMIT) if len(text) > TEXT_LIMIT else [text] if text else []
    parts: list[tuple[str, list[dict[str, Any]]]] = [(piece, []) for piece in pieces]
    rest = list(attachments)
    if parts and rest:
        parts[-1] = (parts[-1][0], [rest.pop(0)])
    parts += [("", [one]) for one in rest]
    return [{"messageId": state.new_message_id(), "text": piece, "attachments": carried, "queuedAt": queued_at}
            for piece, carried in parts]


def settle_outbox(state: HandoverState) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split what an ended handover still held: (never delivered, sent while its end was pending).

    Messages queued before the agent left never reached them: the user is told. Messages sent
    after the agent's `user.end` were held back on purpose and go to the bot instead.
    """
    pending = state.pending_end_at
    held = [item for item in state.outbox if pending is not None and float(item.get("queuedAt", 0)) >= pending]
    lost = [item for item in state.outbox if item not in held]
    state.outbox = []
    return lost, held


def undelivered_notices(items: list[dict[str, Any]]) -> list[str]:
    """One system line per message that will never reach the agent, naming it."""
    notices = []
    for item in items:
        text = str(item.get("text") or "")
        if not text:
            names = [str(a.get("filename") or a.get("url") or "") for a in item.get("attachments") or []]
            text = ", ".join(NOT_DELIVERED_ATTACHMENT.format(name=n) for n in names if n) or "(attachment)"
        elif len(text) > QUOTE_LIMIT:
            text = text[: QUOTE_LIMIT - 1] + "\u2026"
        notices.append(NOT_DELIVERED_AT_END.format(text=text))
    return notices
