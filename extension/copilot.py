"""Copilot workspace links (docs/CONTRACT.md section 8): a signed token that names one handover for 24 hours.

The token is a JWT (HS256) whose claims do not show whose session it is: the userId, the
sessionId and the handover it was made for are sealed in its `ref` claim (encrypted with a key
derived from the Copilot secret, a fresh nonce per token; the JWT signature keeps it intact). It
opens the read-only Copilot page and nothing else: the user routes take only session tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt

from .flows.engine import Endpoint
from .flows.session import SessionKey
from .secrets import Secret

ALGORITHM = "HS256"
LIFETIME_SECONDS = 24 * 3600
CLAIMS = ("ref", "urlToken")
NONCE_BYTES = 16
# The provider's hook that makes a handover's link: (endpoint, session key, handover id) -> link.
LinkMaker = Callable[[Endpoint, SessionKey, str], str]


class CopilotAuthError(Exception):
    """A Copilot token that is missing, malformed, tampered with, expired or for another endpoint."""


@dataclass(frozen=True)
class CopilotGrant:
    """What a valid token opens: one session, as it was during one handover (`handover`: its id)."""

    key: SessionKey
    handover: str


@dataclass(frozen=True)
class CopilotView:
    """What the Copilot page shows of a session, as the provider of its handover decides."""

    state: str  # the page's `data-state`: queue, active, bot or ended
    text: str
    conversation_id: str
    transcript: Sequence[dict[str, Any]]


# A session no provider knows of: its link's handover is over, and what came after is not shown.
NO_HANDOVER = CopilotView("ended", "This handover has ended", "none", ())


def _sealing_key(secret: Secret) -> bytes:
    return hmac.new(secret.reveal().encode("utf-8", "surrogatepass"), b"copilot ref sealing", hashlib.sha256).digest()


def _stream(key: bytes, nonce: bytes, size: int) -> bytes:
    """HMAC-SHA256 in counter mode: a key stream as long as the sealed text."""
    blocks = (hmac.new(key, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest() for i in range(size // 32 + 1))
    return b"".join(blocks)[:size]


def _seal(secret: Secret, values: dict[str, str]) -> str:
    plain = json.dumps(values, separators=(",", ":")).encode("utf-8", "surrogatepass")
    nonce = os.urandom(NONCE_BYTES)
    sealed = bytes(a ^ b for a, b in zip(plain, _stream(_sealing_key(secret), nonce, len(plain)), strict=True))
    return base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")


def _unseal(secret: Secret, ref: str) -> dict[str, object]:
    try:
        raw = base64.urlsafe_b64decode(ref + "=" * (-len(ref) % 4))
    except (binascii.Error, ValueError):
        raise CopilotAuthError("malformed claims") from None
    nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    plain = bytes(a ^ b for a, b in zip(sealed, _stream(_sealing_key(secret), nonce, len(sealed)), strict=True))
    try:
        values = json.loads(plain.decode("utf-8", "surrogatepass"))
    except ValueError:
        raise CopilotAuthError("malformed claims") from None
    if not isinstance(values, dict):
        raise CopilotAuthError("malformed claims")
    return values


def issue_token(secret: Secret, key: SessionKey, *, handover: str = "", now: float | None = None) -> str:
    """A JWT (HS256) for one handover of the session, valid for LIFETIME_SECONDS; it shows no ids."""
    issued = int(time.time() if now is None else now)
    ref = _seal(secret, {"u": key.user_id, "s": key.session_id, "h": handover})
    claims = {"ref": ref, "urlToken": key.url_token, "iat": issued, "exp": issued + LIFETIME_SECONDS}
    return jwt.encode(claims, secret.reveal(), algorithm=ALGORITHM)


def copilot_link(copilot_url: str, key: SessionKey, secret: Secret, *, handover: str = "",
                 now: float | None = None) -> str:
    """`{copilotUrl}/?URLToken={urlToken}&auth={JWT}`, the link the agent opens."""
    query = urlencode({"URLToken": key.url_token, "auth": issue_token(secret, key, handover=handover, now=now)})
    return f"{copilot_url.rstrip('/')}/?{query}"


def link_maker(secret: Secret | None) -> LinkMaker | None:
    """The provider's `copilot_link` hook signing with `[server] copilot_secret`; None without a secret."""
    if secret is None:
        return None

    def make(endpoint: Endpoint, key: SessionKey, handover: str) -> str:
        return copilot_link(str(endpoint.settings["copilotUrl"]), key, secret, handover=handover)

    return make


def verify_token(secret: Secret, token: str | None, url_token: str | None, *,
                 now: float | None = None) -> CopilotGrant:
    """What a token opens; CopilotAuthError unless it is intact, unexpired and for `url_token`."""
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
    ref, claimed_token = claims.get("ref"), claims.get("urlToken")
    if not isinstance(ref, str) or not ref or not isinstance(claimed_token, str) or not claimed_token:
        raise CopilotAuthError("malformed claims")
    # A token for one endpoint must not open a session of another, even with the same secret.
    if claimed_token != url_token:
        raise CopilotAuthError("token for another endpoint")
    values = _unseal(secret, ref)
    user_id, session_id, handover = values.get("u"), values.get("s"), values.get("h")
    if not (isinstance(user_id, str) and user_id and isinstance(session_id, str) and session_id
            and isinstance(handover, str)):
        raise CopilotAuthError("malformed claims")
    return CopilotGrant(SessionKey(claimed_token, user_id, session_id), handover)
