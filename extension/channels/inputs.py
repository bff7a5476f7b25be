"""Validation of what users send: REST bodies, socket frames and query strings."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .. import texts
from ..request_bodies import BadInput
from ..sessions import UserInput

MAX_ID = 256
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_WAIT = 30.0


def _identifier(body: Mapping[str, Any], field: str) -> str:
    value = body.get(field)
    if value is None:
        raise BadInput(texts.FIELD_REQUIRED.format(field=field))
    return _checked_id(value, field)


def parse_idempotency_key(value: Any, field: str) -> str | None:
    """An optional key the client sets so that a resent input is applied once (None when absent)."""
    return None if value is None else _checked_id(value, field)


def _checked_id(value: Any, field: str) -> str:
    if (not isinstance(value, str) or not value or len(value) > MAX_ID
            or any(ord(c) < 32 or ord(c) == 127 for c in value)):
        raise BadInput(texts.FIELD_STRING.format(field=field, limit=MAX_ID))
    _refuse_lone_surrogates(value, field)
    return value


def _refuse_lone_surrogates(value: str, field: str) -> None:
    """JSON may carry `\\ud800` alone; such text cannot be stored, shown or sent as UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput(texts.LONE_SURROGATE.format(field=field)) from None


def parse_content(body: Mapping[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """The `text` and `data` of a message body."""
    text = body.get("text")
    if text is not None and not isinstance(text, str):
        raise BadInput(texts.TEXT_TYPE)
    if text is not None:
        _refuse_lone_surrogates(text, "text")
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        raise BadInput(texts.DATA_TYPE)
    return text, data


def parse_user_input(body: Mapping[str, Any], idempotency_key: str | None = None) -> UserInput:
    """A REST body `{"userId", "sessionId", "text"?, "data"?}` (and its Idempotency-Key header)."""
    user_id = _identifier(body, "userId")
    session_id = _identifier(body, "sessionId")
    text, data = parse_content(body)
    return UserInput(user_id, session_id, text, data, parse_idempotency_key(idempotency_key, IDEMPOTENCY_HEADER))


def parse_session_query(query: Mapping[str, str]) -> tuple[str, str]:
    return _identifier(query, "userId"), _identifier(query, "sessionId")


def parse_after(query: Mapping[str, str]) -> int:
    raw = query.get("after", "0")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise BadInput(texts.AFTER_INVALID)
    return int(raw)


def parse_wait(query: Mapping[str, str]) -> float:
    raw = query.get("wait", "0")
    try:
        wait = float(raw)
    except ValueError:
        raise BadInput(texts.WAIT_INVALID) from None
    if not math.isfinite(wait) or not 0 <= wait <= MAX_WAIT:
        raise BadInput(texts.WAIT_INVALID)
    return wait
