"""Genesys-shaped error answers, the correlation id header, and the emulator's own exceptions."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from .request_keys import CORRELATION_ID

CORRELATION_HEADER = "Genesys-Correlation-Id"
# The header the official SDK reads the correlation id from; sent too, with the same value.
SDK_CORRELATION_HEADER = "ININ-Correlation-Id"

# The code Genesys uses for each status when nothing more specific applies.
DEFAULT_CODES = {
    400: "bad.request",
    401: "authentication.required",
    403: "not.authorized",
    404: "not.found",
    405: "method.not.allowed",
    409: "conflict",
    413: "request.entity.too.large",
    415: "unsupported.media.type",
    429: "too.many.requests",
    500: "internal.server.error",
    502: "bad.gateway",
    503: "service.unavailable",
    504: "request.timeout",
}


class EmulatorError(Exception):
    """A Python-side agent or fault operation that cannot be done."""


class UnknownConversation(EmulatorError, KeyError):
    """No conversation has this id."""


class InvalidState(EmulatorError):
    """The conversation is not in a state that allows the operation."""


def correlation_id(request: web.Request) -> str:
    """The id of this request, made once and echoed in the header and in `contextId`."""
    value = request.get(CORRELATION_ID)
    if isinstance(value, str):
        return value
    created = str(uuid.uuid4())
    request[CORRELATION_ID] = created
    return created


def error_body(
    status: int,
    message: str,
    *,
    code: str | None = None,
    context_id: str = "",
    field_name: str | None = None,
    params: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The body of a Genesys Cloud API error."""
    body: dict[str, Any] = {
        "message": message,
        "code": code or DEFAULT_CODES.get(status, "error"),
        "status": status,
        "messageWithParams": message,
        "messageParams": params or {},
        "contextId": context_id,
        "details": [],
        "errors": [],
    }
    if field_name is not None:
        body["details"] = [{"fieldName": field_name}]
    return body


def error_response(
    request: web.Request,
    status: int,
    message: str,
    *,
    code: str | None = None,
    field_name: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """A Genesys error answer for this request."""
    body = error_body(
        status, message, code=code, context_id=correlation_id(request), field_name=field_name
    )
    return web.json_response(body, status=status, headers=headers)


def oauth_error(status: int, error: str, description: str) -> web.Response:
    """The login service's error shape, which differs from the API's."""
    body = {"error": error, "description": description, "error_description": description}
    return web.json_response(body, status=status)
