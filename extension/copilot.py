"""Copilot workspace links (SPEC section 9): a signed token that names one session for 24 hours."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

import jwt

from .flows.engine import Endpoint
from .flows.session import SessionKey
from .secrets import Secret

ALGORITHM = "HS256"
LIFETIME_SECONDS = 24 * 3600
CLAIMS = ("userId", "sessionId", "urlToken")


class CopilotAuthError(Exception):
    """A Copilot token that is missing, malformed, tampered with, expired or for another endpoint."""


def issue_token(secret: Secret, key: SessionKey, *, now: float | None = None) -> str:
    """A JWT (HS256) naming the session, valid for LIFETIME_SECONDS."""
    issued = int(time.time() if now is None else now)
    claims = {"userId": key.user_id, "sessionId": key.session_id, "urlToken": key.url_token,
              "iat": issued, "exp": issued + LIFETIME_SECONDS}
    return jwt.encode(claims, secret.reveal(), algorithm=ALGORITHM)


def copilot_link(copilot_url: str, key: SessionKey, secret: Secret, *, now: float | None = None) -> str:
    """`{copilotUrl}/?URLToken={urlToken}&auth={JWT}`, the link the agent opens."""
    query = urlencode({"URLToken": key.url_token, "auth": issue_token(secret, key, now=now)})
    return f"{copilot_url.rstrip('/')}/?{query}"


def link_maker(secret: Secret) -> Callable[[Endpoint, SessionKey], str]:
    """The provider's `copilot_link` hook: (endpoint, session key) -> link."""

    def make(endpoint: Endpoint, key: SessionKey) -> str:
        return copilot_link(str(endpoint.settings["copilotUrl"]), key, secret)

    return make


def verify_token(secret: Secret, token: str | None, url_token: str | None, *,
                 now: float | None = None) -> SessionKey:
    """The session a token names; CopilotAuthError unless it is intact, unexpired and for `url_token`."""
    if not token or not url_token:
        raise CopilotAuthError("missing token")
    try:
        # Time claims are checked below against our own clock (injectable, so tests can freeze it).
        claims = jwt.decode(token, secret.reveal(), algorithms=[ALGORITHM],
                            options={"require": ["exp", *CLAIMS], "verify_exp": False, "verify_iat": False,
                                     "verify_nbf": False})
    except jwt.InvalidTokenError as exc:
        raise CopilotAuthError(f"invalid token ({exc.__class__.__name__})") from None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float) or exp <= (time.time() if now is None else now):
        raise CopilotAuthError("expired token")
    values = [claims.get(name) for name in CLAIMS]
    if not all(isinstance(v, str) and v for v in values):
        raise CopilotAuthError("malformed claims")
    user_id, session_id, claimed_token = (str(v) for v in values)
    # A token for one endpoint must not open a session of another, even with the same secret.
    if claimed_token != url_token:
        raise CopilotAuthError("token for another endpoint")
    return SessionKey(claimed_token, user_id, session_id)
