"""The bot conversation so far, as text for the agent, in messages under Genesys' size."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..genesys.messages import split_text

LABELS = {"user": "Customer", "bot": "Bot", "agent": "Agent", "system": "System"}
# No inbound size limit is published; 4000 characters is the safe size.
MESSAGE_LIMIT = 4000


def transcript_lines(entries: Iterable[dict[str, Any]]) -> list[str]:
    lines = []
    for entry in entries:
        when = time.strftime("%H:%M", time.gmtime(float(entry.get("time") or 0)))
        lines.append(f"[{when}] {LABELS.get(entry.get('role', ''), 'Unknown')}: {entry.get('text', '')}")
    return lines


def transcript_messages(entries: Iterable[dict[str, Any]], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Pack transcript lines into as few messages as fit, none over `limit` characters."""
    header = "Conversation with the bot so far:"
    messages: list[str] = []
    current = header
    for line in transcript_lines(entries):
        for piece in split_text(line, limit - 1) if len(line) >= limit else [line]:
            if len(current) + 1 + len(piece) > limit:
                messages.append(current)
                current = piece
            else:
                current = f"{current}\n{piece}"
    if current != header:
        messages.append(current)
    return messages
