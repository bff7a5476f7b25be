"""The bot conversation so far, as text for the agent, in messages under Genesys' size."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ...genesys.messages import split_text

LABELS = {"user": "Customer", "bot": "Bot", "agent": "Agent", "system": "System"}
# No inbound size limit is published; 4000 characters is the safe size.
MESSAGE_LIMIT = 4000
HEADER = "Conversation with the bot so far:"
LEFT_OUT = "({count} earlier message{s} left out)"
# A newest message longer than the whole character budget keeps its beginning, marked so.
CUT_MARK = " [\u2026]"


@dataclass(frozen=True)
class TranscriptBudget:
    """How much of the conversation goes to the agent: the newest messages within both bounds.

    `max_chars` counts the characters of the messages' text (labels and times are not counted).
    """

    max_messages: int = 50
    max_chars: int = 20000


def within_budget(entries: Sequence[dict[str, Any]],
                  budget: TranscriptBudget) -> tuple[list[dict[str, Any]], int]:
    """The newest entries that fit the budget, oldest first, and how many older ones were left out."""
    kept: list[dict[str, Any]] = []
    used = 0
    for entry in reversed(entries):
        if len(kept) >= budget.max_messages:
            break
        text = str(entry.get("text") or "")
        room = budget.max_chars - used
        if len(text) > room:
            if not kept:
                kept.append({**entry, "text": text[:max(room - len(CUT_MARK), 0)] + CUT_MARK})
            break
        kept.append(entry)
        used += len(text)
    kept.reverse()
    return kept, len(entries) - len(kept)


def transcript_lines(entries: Iterable[dict[str, Any]]) -> list[str]:
    lines = []
    for entry in entries:
        when = time.strftime("%H:%M", time.gmtime(float(entry.get("time") or 0)))
        lines.append(f"[{when}] {LABELS.get(entry.get('role', ''), 'Unknown')}: {entry.get('text', '')}")
    return lines


def transcript_messages(entries: Sequence[dict[str, Any]], limit: int = MESSAGE_LIMIT,
                        budget: TranscriptBudget | None = None) -> list[str]:
    """Pack the newest transcript lines the budget allows into as few messages as fit, none over `limit`."""
    kept, left_out = within_budget(entries, budget or TranscriptBudget())
    messages: list[str] = []
    current = HEADER
    lines = transcript_lines(kept)
    if left_out and lines:
        lines.insert(0, LEFT_OUT.format(count=left_out, s="" if left_out == 1 else "s"))
    for line in lines:
        for piece in split_text(line, limit - 1) if len(line) >= limit else [line]:
            if len(current) + 1 + len(piece) > limit:
                messages.append(current)
                current = piece
            else:
                current = f"{current}\n{piece}"
    if current != HEADER:
        messages.append(current)
    return messages
