"""No client secret, token or Authorization value in any exception or log line."""

from __future__ import annotations

import base64
import logging

import aiohttp
import pytest
from aioresponses import aioresponses

from extension.genesys import GenesysClient, GenesysError, RetryPolicy

from .conftest import API, CLIENT_ID, CLIENT_SECRET, REGION, TOKEN, TOKEN_URL, grant_token

CONVERSATION = f"{API}/api/v2/conversations/messages/conv-1"
FORBIDDEN = (CLIENT_SECRET, TOKEN,
             base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode())


def assert_clean(text: str) -> None:
    for secret in FORBIDDEN:
        assert secret not in text


async def test_nothing_secret_reaches_logs_or_errors(
    mocked: aioresponses, session: aiohttp.ClientSession, policy: RetryPolicy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = GenesysClient(session, REGION, CLIENT_ID, CLIENT_SECRET, retry=policy)
    errors: list[GenesysError] = []

    # A token refused by a server that echoes the secret back in its error text.
    mocked.post(TOKEN_URL, status=401, payload={
        "error": "invalid_client", "description": f"bad secret {CLIENT_SECRET}"})
    with pytest.raises(GenesysError) as caught:
        await client.get_message_conversation("conv-1")
    errors.append(caught.value)

    # Then a token, a 401, a refresh, a 429, a 5xx, a network failure and a 404.
    grant_token(mocked)
    grant_token(mocked)
    mocked.get(CONVERSATION, status=401, payload={"code": "credentials.expired"})
    mocked.get(CONVERSATION, status=429, payload={}, headers={"Retry-After": "1"})
    mocked.get(CONVERSATION, status=503, payload={})
    mocked.get(CONVERSATION, exception=aiohttp.ClientConnectionError("reset"))
    mocked.get(CONVERSATION, status=404, payload={"code": "not.found", "message": "gone"})
    with pytest.raises(GenesysError) as caught:
        await client.get_message_conversation("conv-1")
    errors.append(caught.value)

    assert len(caplog.records) >= 7  # The exchanges above were logged...
    assert "extension.genesys" in {r.name for r in caplog.records}
    assert_clean(caplog.text)  # ...without a secret.
    for error in errors:
        assert_clean(str(error))
        assert_clean(repr(error))
        assert_clean(repr(error.__cause__))
    assert_clean(repr(client) + repr(client.tokens))
