"""Webhook signature: known-answer vector and malformed headers."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from extension.genesys.signature import HEADER, sign, verify

SECRET = "0123456789abcdef-webhook-secret"  # noqa: S105 - a test vector
BODY = b'{"id":"d7d58935af65a45e5234ac77de017a0a","type":"Text","text":"Hi"}'
# Computed outside Python: printf '%s' BODY | openssl dgst -sha256 -hmac SECRET -binary | base64
EXPECTED = "sha256=/KxvH643KMe/po8FyB5VRBWOTvRTER5qrJezWytG7TI="


def test_header_name_is_the_one_genesys_sends() -> None:
    assert HEADER == "X-Hub-Signature-256"


def test_sign_matches_an_independent_hmac_and_the_known_answer() -> None:
    independent = base64.b64encode(
        hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()
    ).decode()
    assert sign(SECRET, BODY) == "sha256=" + independent == EXPECTED


def test_sign_accepts_a_bytes_secret() -> None:
    assert sign(SECRET.encode(), BODY) == EXPECTED


def test_verify_accepts_the_known_answer() -> None:
    assert verify(SECRET, BODY, EXPECTED) is True
    assert verify(SECRET, bytearray(BODY), EXPECTED) is True


def test_verify_rejects_a_changed_body() -> None:
    # Re-serialised JSON (a space added) no longer matches: the raw bytes are what count.
    assert verify(SECRET, BODY.replace(b'","', b'", "'), EXPECTED) is False


HEX = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (None, "missing"),
        ("", "empty"),
        (HEX, "hex-encoded digest"),
        (EXPECTED.removeprefix("sha256="), "missing prefix"),
        ("sha1=" + EXPECTED.removeprefix("sha256="), "other algorithm"),
        (EXPECTED[:-8], "truncated"),
        ("sha256=", "prefix only"),
        ("sha256=not*base64!!", "non-base64"),
        ("sha256=" + base64.b64encode(b"x" * 32).decode(), "wrong digest"),
        (12345, "not a string"),
    ],
)
def test_verify_rejects_malformed_headers_without_raising(header: object, why: str) -> None:
    assert verify(SECRET, BODY, header) is False, why  # type: ignore[arg-type]


def test_verify_rejects_the_wrong_secret() -> None:
    assert verify("another-secret-of-16+chars", BODY, EXPECTED) is False


def test_verify_rejects_an_empty_secret() -> None:
    # An unset secret must never accept everything.
    assert verify("", BODY, sign("", BODY)) is False


def test_verify_rejects_a_non_bytes_body() -> None:
    assert verify(SECRET, BODY.decode(), EXPECTED) is False  # type: ignore[arg-type]
