"""Webhook signatures: `X-Hub-Signature-256: sha256=<base64(HMAC-SHA256(secret, raw body))>`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def _digest(secret: str | bytes, raw_body: bytes) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, raw_body, hashlib.sha256).digest()


def sign(secret: str | bytes, raw_body: bytes) -> str:
    """Return the header value Genesys would send for these exact body bytes."""
    return _PREFIX + base64.b64encode(_digest(secret, raw_body)).decode("ascii")


def verify(secret: str | bytes, raw_body: bytes, header: str | None) -> bool:
    """True only for a well-formed header carrying the right signature; never raises."""
    if not secret or not isinstance(header, str) or not isinstance(raw_body, bytes | bytearray):
        return False
    value = header.strip()
    if not value.lower().startswith(_PREFIX):
        return False
    try:
        given = base64.b64decode(value[len(_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, _digest(secret, bytes(raw_body)))
