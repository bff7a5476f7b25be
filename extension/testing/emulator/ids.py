"""Identifiers and timestamps in the formats Genesys Cloud uses."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime


def new_uuid() -> str:
    """A conversation, participant or user id: a UUID in its usual text form."""
    return str(uuid.uuid4())


def message_id() -> str:
    """A Genesys message id: 32 lowercase hex digits."""
    return uuid.uuid4().hex


def token() -> str:
    """An unguessable bearer token."""
    return secrets.token_urlsafe(32)


def user_id_for(agent_name: str) -> str:
    """A stable user id per agent name, so one agent keeps one id across conversations."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"genesys-emulator:user:{agent_name}"))


def iso(timestamp: float) -> str:
    """ISO-8601 UTC with milliseconds and a `Z`, as Genesys writes times."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def millis(timestamp: float) -> int:
    """Epoch milliseconds, as analytics detail events carry `eventTime`."""
    return int(round(timestamp * 1000))


def parse_iso(value: str) -> datetime | None:
    """A timezone-aware datetime from an ISO-8601 date and time, or None when malformed."""
    if "T" not in value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
