"""The emulator signs webhooks with its own code; both it and the client's verifier meet fixed vectors."""

from __future__ import annotations

from pathlib import Path

import pytest

from extension.genesys.signature import verify
from extension.testing.emulator.signing import SIGNATURE_HEADER, webhook_signature

from .conftest import Api, FakeMiddleware
from support import EXTENSION, imports_of

# Each expected value was computed outside Python:
#   printf '%s' BODY | openssl dgst -sha256 -hmac SECRET -binary | base64
VECTORS = [
    ("0123456789abcdef-webhook-secret",
     '{"id":"d7d58935af65a45e5234ac77de017a0a","type":"Text","text":"Hi"}',
     "sha256=/KxvH643KMe/po8FyB5VRBWOTvRTER5qrJezWytG7TI="),
    # UTF-8 bytes in the body (what the emulator sends: JSON with ensure_ascii off).
    ("emulator-signing-secret-2026", '{"text":"Grüße ☕","id":"m-1"}',
     "sha256=DBrDa43dhNjIyZKhg8+sMLehemU74RErptvksj/JfaI="),
]


@pytest.mark.parametrize(("secret", "body", "expected"), VECTORS)
def test_the_emulator_signs_the_known_answer(secret: str, body: str, expected: str) -> None:
    assert webhook_signature(secret, body.encode("utf-8")) == expected


@pytest.mark.parametrize(("secret", "body", "expected"), VECTORS)
def test_the_client_verifies_the_known_answer(secret: str, body: str, expected: str) -> None:
    raw = body.encode("utf-8")
    assert verify(secret, raw, expected) is True
    assert verify(secret, raw + b" ", expected) is False
    assert verify(secret + "x", raw, expected) is False


def test_the_emulator_does_not_borrow_the_clients_signer() -> None:
    borrowed = {f"{path.relative_to(EXTENSION.parent)}: {name}"
                for path in Path(EXTENSION / "testing" / "emulator").rglob("*.py") for name in imports_of(path)
                if name.startswith("extension.genesys.signature")}
    assert borrowed == set()


async def test_a_delivered_webhook_carries_the_emulators_signature(api: Api, middleware: FakeMiddleware) -> None:
    cid = (await api.inbound("hi"))["conversationId"]
    await api.emulator.agent.accept(cid)
    await api.emulator.agent.reply(cid, "Grüße ☕")
    received = middleware.received[-1]
    assert "Grüße ☕".encode() in received.raw
    secret = api.emulator.config.integrations[0].webhook_secret
    assert received.headers[SIGNATURE_HEADER] == webhook_signature(secret, received.raw)
    assert verify(secret, received.raw, received.headers[SIGNATURE_HEADER]) is True
