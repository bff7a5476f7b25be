"""Shapes of the events written to a session's log (docs/CONTRACT.md section 5)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

Event = dict[str, Any]
SOURCES = ("bot", "agent", "system")
HANDOVER_STATUSES = ("queue", "active", "completed", "cancelled", "error")


def now_iso() -> str:
    """The current UTC time, ISO-8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def output_event(text: str | None, data: Any = None, source: str = "bot", *, event_id: str | None = None) -> Event:
    """A message shown to the user."""
    if source not in SOURCES:
        raise ValueError(f"unknown output source {source!r}")
    return {
        "type": "output", "source": source, "text": text, "data": data,
        "time": now_iso(), "id": event_id or uuid.uuid4().hex,
    }


def typing_event(source: str = "agent") -> Event:
    """Someone is typing."""
    return {"type": "typing", "source": source}


def handover_event(status: str, **extra: Any) -> Event:
    """A change of handover state."""
    if status not in HANDOVER_STATUSES:
        raise ValueError(f"unknown handover status {status!r}")
    return {"type": "handover", "status": status, **extra}


def as_output_stack_item(event: Event) -> dict[str, Any]:
    """The REST answer's view of a bot output."""
    return {"text": event.get("text"), "data": event.get("data"), "source": event.get("source")}
