"""OAuth client credentials: the token endpoint and the bearer check on the API (tokens: tokens.py)."""

from __future__ import annotations

import base64
import binascii
import hmac

from aiohttp import web
from aiohttp.typedefs import Handler

from .errors import error_response, oauth_error
from .keys import EMULATOR
from .request_keys import CLIENT_ID


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


async def token_endpoint(request: web.Request) -> web.Response:
    """POST /oauth/token: the client-credentials grant of the login service."""
    emulator = request.app[EMULATOR]
    credentials = _basic_credentials(request.headers.get("Authorization"))
    if credentials is None:
        return oauth_error(401, "invalid_client", "client authentication is required")
    client_id, secret = credentials
    known = emulator.config.clients.get(client_id)
    # Not verified: the exact statuses and texts Genesys uses to tell an unknown client from a
    # wrong secret. Both are `invalid_client` there, which is what callers should rely on.
    if known is None:
        return oauth_error(400, "invalid_client", "client not found")
    if not hmac.compare_digest(known.encode("utf-8"), secret.encode("utf-8")):
        return oauth_error(401, "invalid_client", "authentication failed")
    form = await request.post()
    grant_type = form.get("grant_type")
    if grant_type != "client_credentials":
        description = "grant_type is required" if grant_type is None else "unsupported grant type"
        return oauth_error(400, "unsupported_grant_type", description)
    lifetime = emulator.config.token_lifetime
    issued = emulator.tokens.issue(client_id, lifetime)
    return web.json_response(
        {"access_token": issued.value, "token_type": "bearer", "expires_in": lifetime}
    )


@web.middleware
async def bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every /api/ call needs a valid bearer token; the client it names is kept on the request."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        message = "No authentication bearer token specified in authorization header."
        return error_response(request, 401, message, code="authentication.required")
    issued = request.app[EMULATOR].tokens.check(value.strip())
    if issued is None:
        return error_response(
            request, 401, "Invalid login credentials.", code="authentication.required"
        )
    request[CLIENT_ID] = issued.client_id
    return await handler(request)
