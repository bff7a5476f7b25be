"""The receipt call: its exact wire bytes, and every failure carried on by the retry path."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone

import aiohttp
import pytest
from aioresponses import aioresponses

from extension.genesys import (
    GenesysAuthError,
    GenesysClient,
    GenesysClientError,
    GenesysRateLimited,
    GenesysServerError,
    RetryPolicy,
)
from extension.genesys.messages import delivery_receipt, wire_time

from .conftest import API, CLIENT_ID, CLIENT_SECRET, REGION, TOKEN, FakeClock, RecordedSleeps, calls, grant_token

RECEIPT = f"{API}/api/v2/conversations/messages/int-1/inbound/open/receipt"
WHEN = datetime(2026, 1, 15, 10, 1, 5, 427_900, tzinfo=UTC)
BODY = delivery_receipt("w-1", "h-1", "Delivered", time=WHEN)


def sent_bytes(mocked: aioresponses) -> list[bytes]:
    return [bytes(c["data"]) for c in calls(mocked, "POST", RECEIPT)]  # type: ignore[call-overload]


async def test_the_receipt_goes_out_as_json_would_encode_it(mocked: aioresponses, client: GenesysClient) -> None:
    grant_token(mocked)
    mocked.post(RECEIPT, status=202, body="")
    await client.send_inbound_receipt("int-1", BODY)
    [sent] = calls(mocked, "POST", RECEIPT)
    # The same bytes aiohttp's json= wrote: json.dumps defaults, UTF-8.
    assert sent["data"] == json.dumps(BODY).encode()
    assert sent["headers"] == {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json",
                               "Content-Type": "application/json"}
    assert json.loads(sent["data"]) == {  # type: ignore[arg-type]
        "id": "w-1", "channel": {"to": {"id": "h-1", "idType": "Opaque"}, "time": "2026-01-15T10:01:05.427Z"},
        "status": "Delivered", "isFinalReceipt": True}


async def test_the_answer_body_is_not_decoded(mocked: aioresponses, client: GenesysClient) -> None:
    grant_token(mocked)
    mocked.post(RECEIPT, status=200, body="not json at all")
    assert await client.send_inbound_receipt("int-1", BODY) is None


async def test_a_5xx_on_the_first_try_is_retried_with_the_same_bytes(
    mocked: aioresponses, client: GenesysClient, sleeps: RecordedSleeps
) -> None:
    grant_token(mocked)
    mocked.post(RECEIPT, status=503, payload={"code": "service.unavailable"})
    mocked.post(RECEIPT, status=202, body="")
    await client.send_inbound_receipt("int-1", BODY)
    assert sent_bytes(mocked) == [json.dumps(BODY).encode()] * 2
    assert sleeps.waits == [0.5]


async def test_a_failing_receipt_makes_no_more_attempts_than_the_policy_allows(
    mocked: aioresponses, client: GenesysClient, sleeps: RecordedSleeps
) -> None:
    grant_token(mocked)
    mocked.post(RECEIPT, status=500, payload={}, repeat=True)
    with pytest.raises(GenesysServerError):
        await client.send_inbound_receipt("int-1", BODY)
    assert len(calls(mocked, "POST", RECEIPT)) == 4  # max_attempts, the bare first try included
    assert sleeps.waits == [0.5, 1.0, 2.0]


async def test_a_4xx_is_not_retried(mocked: aioresponses, client: GenesysClient, sleeps: RecordedSleeps) -> None:
    grant_token(mocked)
    mocked.post(RECEIPT, status=400, payload={"code": "bad.request", "message": "nope"}, repeat=True)
    with pytest.raises(GenesysClientError):
        await client.send_inbound_receipt("int-1", BODY)
    assert len(calls(mocked, "POST", RECEIPT)) == 1
    assert sleeps.waits == []


async def test_a_429_on_the_first_try_holds_the_client_and_waits_retry_after(
    mocked: aioresponses, client: GenesysClient, sleeps: RecordedSleeps
) -> None:
    grant_token(mocked)
    mocked.post(RECEIPT, status=429, payload={}, headers={"Retry-After": "7"})
    mocked.post(RECEIPT, status=202, body="")
    await client.send_inbound_receipt("int-1", BODY)
    assert len(calls(mocked, "POST", RECEIPT)) == 2
    assert sleeps.waits == [7.0]


async def test_while_a_rate_limit_is_active_the_receipt_waits_for_it(
    mocked: aioresponses, client: GenesysClient, sleeps: RecordedSleeps
) -> None:
    grant_token(mocked)
    mocked.post(RECEIPT, status=202, body="")
    client.rate_gate.hold(5.0)
    await client.send_inbound_receipt("int-1", BODY)
    assert sleeps.waits == [5.0]
    assert len(calls(mocked, "POST", RECEIPT)) == 1


async def test_a_retry_after_past_the_budget_fails_at_once(
    mocked: aioresponses, session: aiohttp.ClientSession, sleeps: RecordedSleeps, clock: FakeClock
) -> None:
    policy = RetryPolicy(max_attempts=3, max_total_seconds=10, sleep=sleeps, clock=clock)
    client = GenesysClient(session, REGION, CLIENT_ID, CLIENT_SECRET, retry=policy)
    grant_token(mocked)
    mocked.post(RECEIPT, status=429, payload={}, headers={"Retry-After": "60"}, repeat=True)
    with pytest.raises(GenesysRateLimited):
        await client.send_inbound_receipt("int-1", BODY)
    assert len(calls(mocked, "POST", RECEIPT)) == 1
    assert sleeps.waits == []
    assert client.rate_gate.remaining() == 60.0


async def test_a_401_refreshes_the_token_once(mocked: aioresponses, client: GenesysClient) -> None:
    grant_token(mocked, token="stale")
    grant_token(mocked, token="fresh")
    mocked.post(RECEIPT, status=401, payload={"code": "credentials.expired"})
    mocked.post(RECEIPT, status=202, body="")
    await client.send_inbound_receipt("int-1", BODY)
    assert [c["headers"]["Authorization"] for c in calls(mocked, "POST", RECEIPT)] == [  # type: ignore[index]
        "Bearer stale", "Bearer fresh"]


async def test_a_second_401_surfaces(mocked: aioresponses, client: GenesysClient) -> None:
    grant_token(mocked, token="stale")
    grant_token(mocked, token="fresh")
    mocked.post(RECEIPT, status=401, payload={"code": "bad.credentials"}, repeat=True)
    with pytest.raises(GenesysAuthError):
        await client.send_inbound_receipt("int-1", BODY)
    assert len(calls(mocked, "POST", RECEIPT)) == 2
    assert client.tokens.requests_made == 2


async def test_an_unreadable_subscription_answer_rejects_nothing(mocked: aioresponses, client: GenesysClient) -> None:
    grant_token(mocked)
    url = f"{API}/api/v2/notifications/channels/ch-1/subscriptions?ignoreErrors=true"
    mocked.put(url, status=200, body="{truncated")
    assert await client.replace_subscriptions("ch-1", ["v2.detail.events.conversation.c1.user.end"]) == []
    assert calls(mocked, "PUT", url)[0]["json"] == [{"id": "v2.detail.events.conversation.c1.user.end"}]


def test_wire_time_matches_the_strftime_spelling() -> None:
    rand = random.Random(7)
    for _ in range(500):
        moment = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=rand.randrange(10**15))
        local = moment.astimezone(timezone(timedelta(hours=rand.randrange(-12, 13))))
        expected = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        assert wire_time(local) == expected
