"""Shared request/response helpers for the routes: JSON errors and bounded bodies."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from . import bounded_json, keys, texts
from .limits import MAX_BODY, BodyReading
from .refusals import BadInput

__all__ = ["MAX_BODY", "BadInput", "BodyReading", "BodyRefused", "json_error", "parse_json_object",
           "read_body"]


class BodyRefused(BadInput):
    """A body not read to its end (too slow, one too many arriving, undecodable).

    It is answered, then its connection is closed at once: what the client still sends is never
    read, so a body that never ends holds nothing past its answer. A body over the size limit is
    a plain refusal instead: aiohttp reads what is left of it for a while (bounded), so that the
    client, still sending, gets its 413 rather than a reset connection.
    """


def json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def read_body(request: web.Request, limit: int = MAX_BODY) -> bytes:
    """The whole raw body, read to its end; refused with 413 as soon as it passes `limit` bytes.

    A body that has not fully arrived counts as pending while it is read: past the app's
    `max_pending` it is refused at once (503), and one slower than `timeout_seconds` gets 408.
    Those and an undecodable body are BodyRefused: the connection is closed with the answer.
    A body already in (a Genesys webhook, nearly always) is never refused for the others.
    """
    if request.content_length is not None and request.content_length > limit:
        raise BadInput(texts.BODY_TOO_LARGE.format(limit=limit), 413)
    reading = request.app.get(keys.BODY_READING) or BodyReading()
    if request.content.is_eof():
        return await _read(request, limit)
    if reading.pending >= reading.max_pending:
        raise BodyRefused(texts.TOO_MANY_PENDING, 503)
    reading.pending += 1
    try:
        async with asyncio.timeout(reading.timeout_seconds):
            return await _read(request, limit)
    except TimeoutError:
        raise BodyRefused(texts.BODY_TIMEOUT.format(seconds=f"{reading.timeout_seconds:g}"), 408) from None
    finally:
        reading.pending -= 1


async def _read(request: web.Request, limit: int) -> bytes:
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
    except RequestPayloadError:
        # A Content-Encoding the body does not match (gzip that is not gzip), or a broken chunk.
        raise BodyRefused(texts.BODY_UNREADABLE) from None
    return b"".join(chunks)


def parse_json_object(raw: bytes | str) -> dict[str, Any]:
    try:
        body = bounded_json.loads(raw)
    except bounded_json.TooDeep as exc:
        raise BadInput(str(exc)) from None
    except (ValueError, UnicodeDecodeError):
        raise BadInput(texts.NOT_JSON) from None
    if not isinstance(body, dict):
        raise BadInput(texts.NOT_OBJECT)
    return body
