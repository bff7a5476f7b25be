"""How Genesys signs a webhook, written apart from the client's verifier so one mistake cannot hide in both.

`X-Hub-Signature-256: sha256=` followed by the base64 (not hex) HMAC-SHA256 of the raw body bytes,
keyed with the integration's webhook secret (UTF-8).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "X-Hub-Signature-256"


def webhook_signature(secret: str, raw_body: bytes) -> str:
    """The signature header value for these exact body bytes."""
    mac = hmac.new(secret.encode("utf-8"), msg=raw_body, digestmod=hashlib.sha256)
    return "sha256=" + base64.standard_b64encode(mac.digest()).decode("ascii")
