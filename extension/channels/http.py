"""Shared request/response helpers for the routes: JSON errors and bounded bodies."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .. import texts

MAX_BODY = 1024 * 1024


class BadInput(Exception):
    """A request the route refuses; `status` and a message that says what is wrong."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def read_body(request: web.Request, limit: int = MAX_BODY) -> bytes:
    """The whole raw body, read to its end; refused with 413 as soon as it passes `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise BadInput(texts.BODY_TOO_LARGE.format(limit=limit), 413)
    # One read returns only what has arrived so far: keep reading until EOF, a chunk at a time.
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.content.iter_any():
            size += len(chunk)
            if size > limit:
                raise BadInput(texts.BODY_TOO_LARGE.format(limit=limit), 413)
            chunks.append(chunk)
    except web.HTTPRequestEntityTooLarge:
        raise BadInput(texts.BODY_TOO_LARGE.format(limit=limit), 413) from None
    return b"".join(chunks)


def parse_json_object(raw: bytes | str) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadInput(texts.NOT_JSON) from None
    if not isinstance(body, dict):
        raise BadInput(texts.NOT_OBJECT)
    return body
