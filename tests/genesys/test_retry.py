"""Retries: Retry-After on 429, bounded backoff on 5xx and network errors, none on other 4xx."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aioresponses import aioresponses

from extension.genesys import (
    GenesysClient,
    GenesysClientError,
    GenesysForbidden,
    GenesysNotFound,
    GenesysRateLimited,
    GenesysServerError,
    GenesysUnavailable,
    RetryPolicy,
    resolve_region,
)

from .conftest import (
    API,
    CLIENT_ID,
    CLIENT_SECRET,
    REGION,
    FakeClock,
    RecordedSleeps,
    calls,
    grant_token,
)

CONVERSATION = f"{API}/api/v2/conversations/messages/conv-1"


async def test_429_waits_exactly_retry_after(
    mocked: aioresponses, client: GenesysClient, sleeps: RecordedSleeps
) -> None:
    grant_token(mocked)
    mocked.get(CONVERSATION, status=429, payload={"code": "too.many.requests"},
               headers={"Retry-After": "7"})
    mocked.get(CONVERSATION, payload={"id": "conv-1"})

    assert await client.get_message_conversation("conv-1") == {"id": "conv-1"}
    assert sleeps.waits == [7.0]
    assert len(calls(mocked, "GET", CONVERSATION)) == 2


@pytest.mark.parametrize("header", [None, "soon", "-3", "1.5",
                                    "Wed, 21 Oct 2026 07:28:00 GMT"])
async def test_429_without_usable_retry_after_backs_off(
    mocked: aioresponses, client: GenesysClient, sleeps: RecordedSleeps, header: str | None
) -> None:
    grant_token(mocked)
    mocked.get(CONVERSATION, status=429, payload={},
               headers={"Retry-After": header} if header else None)
    mocked.get(CONVERSATION, payload={"id": "conv-1"})

    await client.get_message_conversation("conv-1")
    assert sleeps.waits == [0.5]


async def test_a_retry_after_beyond_the_budget_fails_at_once(
    mocked: aioresponses, client: GenesysClient, sleeps: RecordedSleeps
) -> None:
    grant_token(mocked)
    mocked.get(CONVERSATION, status=429, payload={"code": "too.many.requests"},
               headers={"Retry-After": "120"}, repeat=True)

    with pytest.raises(GenesysRateLimited) as caught:
        await client.get_message_conversation("conv-1")
    assert caught.value.retry_after == 120
    assert sleeps.waits == []
    assert len(calls(mocked, "GET", CONVERSATION)) == 1


async def test_5xx_backs_off_exponentially_then_succeeds(
    mocked: aioresponses, client: GenesysClient, sleeps: RecordedSleeps
) -> None:
    grant_token(mocked)
    for status in (500, 502, 503):
        mocked.get(CONVERSATION, status=status, payload={})
    mocked.get(CONVERSATION, payload={"id": "conv-1"})

    assert await client.get_message_conversation("conv-1") == {"id": "conv-1"}
    assert sleeps.waits == [0.5, 1.0, 2.0]


async def test_5xx_gives_up_after_max_attempts(
    mocked: aioresponses, client: GenesysClient, sleeps: RecordedSleeps
) -> None:
    grant_token(mocked)
    mocked.get(CONVERSATION, status=504, payload={"code": "request.timeout"}, repeat=True)

    with pytest.raises(GenesysServerError) as caught:
        await client.get_message_conversation("conv-1")
    assert caught.value.status == 504
    assert len(calls(mocked, "GET", CONVERSATION)) == 4
    assert len(sleeps.waits) == 3


async def test_total_time_is_bounded(
    mocked: aioresponses, session: aiohttp.ClientSession, sleeps: RecordedSleeps,
    clock: FakeClock,
) -> None:
    policy = RetryPolicy(max_attempts=50, max_total_seconds=3, backoff_base=0.5, jitter=0,
                         sleep=sleeps, clock=clock)
    client = GenesysClient(session, REGION, CLIENT_ID, CLIENT_SECRET, retry=policy)
    grant_token(mocked)
    mocked.get(CONVERSATION, status=503, payload={}, repeat=True)

    with pytest.raises(GenesysServerError):
        await client.get_message_conversation("conv-1")
    # 0.5 + 1.0 spent; the next 2.0 would end past 3 s, so it stops instead of sleeping.
    assert sleeps.waits == [0.5, 1.0]
    assert len(calls(mocked, "GET", CONVERSATION)) == 3


def test_backoff_is_capped_and_jitter_bounded() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_max=3, jitter=0.5, rand=lambda: 1.0)
    waits = [policy.wait_for(GenesysServerError("x", status=500), n) for n in range(1, 9)]
    assert waits == [1.0, 1.5, 2.5, 3, 3, 3, 3, 3]


def test_jitter_stays_within_its_bound() -> None:
    policy = RetryPolicy(backoff_base=1, backoff_max=60, jitter=0.25)
    draws = {policy.wait_for(None, 3) for _ in range(200)}
    assert all(4 <= w <= 4.25 for w in draws)
    assert len(draws) > 1  # Really random: retries from many handovers do not line up.


def test_retry_after_wins_over_backoff() -> None:
    policy = RetryPolicy(backoff_max=1)
    assert policy.wait_for(GenesysRateLimited("x", retry_after=42), 1) == 42


@pytest.mark.parametrize("bad", [{"max_attempts": 0}, {"jitter": -1}, {"backoff_max": -1}])
def test_nonsense_policies_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)


@pytest.mark.parametrize(
    "failure",
    [aiohttp.ClientConnectionError("refused"), aiohttp.ServerDisconnectedError(),
     TimeoutError()],
)
async def test_network_failures_are_retried_then_unavailable(
    mocked: aioresponses, client: GenesysClient, sleeps: RecordedSleeps, failure: Exception
) -> None:
    grant_token(mocked)
    mocked.get(CONVERSATION, exception=failure, repeat=True)

    with pytest.raises(GenesysUnavailable) as caught:
        await client.get_message_conversation("conv-1")
    assert caught.value.status is None
    assert caught.value.path == "/api/v2/conversations/messages/conv-1"
    assert len(calls(mocked, "GET", CONVERSATION)) == 4
    assert sleeps.waits == [0.5, 1.0, 2.0]


async def test_a_network_failure_then_success(
    mocked: aioresponses, client: GenesysClient, sleeps: RecordedSleeps
) -> None:
    grant_token(mocked)
    mocked.get(CONVERSATION, exception=aiohttp.ClientConnectionError("reset"))
    mocked.get(CONVERSATION, payload={"id": "conv-1"})
    assert await client.get_message_conversation("conv-1") == {"id": "conv-1"}
    assert sleeps.waits == [0.5]


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, GenesysClientError), (403, GenesysForbidden), (404, GenesysNotFound),
     (409, GenesysClientError), (422, GenesysClientError)],
)
async def test_other_4xx_fail_at_once(
    mocked: aioresponses, client: GenesysClient, sleeps: RecordedSleeps, status: int,
    kind: type[Exception],
) -> None:
    grant_token(mocked)
    mocked.get(CONVERSATION, status=status, payload={"code": "x"}, repeat=True)

    with pytest.raises(kind):
        await client.get_message_conversation("conv-1")
    assert len(calls(mocked, "GET", CONVERSATION)) == 1
    assert sleeps.waits == []


async def test_a_real_timeout_is_retried_then_unavailable(
    aiohttp_server: Any, session: aiohttp.ClientSession, sleeps: RecordedSleeps,
    clock: FakeClock,
) -> None:
    never = asyncio.Event()
    hits = 0

    async def token(request: web.Request) -> web.Response:
        return web.json_response({"access_token": "t", "expires_in": 3600})

    async def stuck(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        await never.wait()
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/oauth/token", token)
    app.router.add_get("/api/v2/conversations/messages/{cid}", stuck)
    server = await aiohttp_server(app)
    region = resolve_region(str(server.make_url("/")))
    policy = RetryPolicy(max_attempts=2, sleep=sleeps, clock=clock, rand=lambda: 0.0)
    client = GenesysClient(session, region, CLIENT_ID, CLIENT_SECRET, retry=policy,
                           request_timeout=0.05)

    with pytest.raises(GenesysUnavailable, match="timeout"):
        await client.get_message_conversation("conv-1")
    assert hits == 2
    assert sleeps.waits == [0.5]


OTHER = f"{API}/api/v2/conversations/messages/conv-2"


async def test_a_429_holds_every_other_call_on_the_client(
    mocked: aioresponses, session: aiohttp.ClientSession, sleeps: RecordedSleeps, clock: FakeClock
) -> None:
    # One attempt per call: the call that got the 429 gives up, the next call must still wait.
    policy = RetryPolicy(max_attempts=1, sleep=sleeps, clock=clock, rand=lambda: 0.0)
    client = GenesysClient(session, REGION, CLIENT_ID, CLIENT_SECRET, retry=policy)
    grant_token(mocked)
    mocked.get(CONVERSATION, status=429, payload={"code": "too.many.requests"},
               headers={"Retry-After": "7"})
    mocked.get(OTHER, payload={"id": "conv-2"})
    with pytest.raises(GenesysRateLimited):
        await client.get_message_conversation("conv-1")
    sent_before_wait: list[int] = []
    recorded = policy.sleep

    async def sleep(seconds: float) -> None:
        sent_before_wait.append(len(calls(mocked, "GET", OTHER)))
        await recorded(seconds)

    client.rate_gate._sleep = sleep
    assert await client.get_message_conversation("conv-2") == {"id": "conv-2"}
    assert sleeps.waits == [7.0]
    assert sent_before_wait == [0]  # the other call's request went out only after the wait


async def test_a_retry_after_beyond_another_calls_budget_fails_it_without_a_request(
    mocked: aioresponses, session: aiohttp.ClientSession, sleeps: RecordedSleeps, clock: FakeClock
) -> None:
    policy = RetryPolicy(max_attempts=3, max_total_seconds=10, sleep=sleeps, clock=clock)
    client = GenesysClient(session, REGION, CLIENT_ID, CLIENT_SECRET, retry=policy)
    grant_token(mocked)
    mocked.get(CONVERSATION, status=429, payload={}, headers={"Retry-After": "60"})
    with pytest.raises(GenesysRateLimited):
        await client.get_message_conversation("conv-1")
    with pytest.raises(GenesysRateLimited) as caught:
        await client.get_message_conversation("conv-2")
    assert caught.value.retry_after == 60
    assert calls(mocked, "GET", OTHER) == []
    assert sleeps.waits == []


async def test_token_requests_are_not_held_by_an_api_429(
    mocked: aioresponses, client: GenesysClient, sleeps: RecordedSleeps
) -> None:
    grant_token(mocked)
    grant_token(mocked, token="tok-second")  # noqa: S106 - a test fixture
    mocked.get(CONVERSATION, status=429, payload={}, headers={"Retry-After": "7"})
    mocked.get(CONVERSATION, payload={"id": "conv-1"})
    await client.get_message_conversation("conv-1")
    assert sleeps.waits == [7.0]
    client.rate_gate.hold(30)
    client.tokens.invalidate(await client.tokens.get())
    assert await client.tokens.get() == "tok-second"  # the login host is asked at once
    assert sleeps.waits == [7.0]


async def test_a_gate_pushed_further_while_waiting_is_waited_out(clock: FakeClock) -> None:
    from extension.genesys.retry import RateGate

    waits: list[float] = []
    gate: RateGate

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.now += seconds
        if len(waits) == 1:
            gate.hold(3)  # another call got a 429 meanwhile

    gate = RateGate(clock, sleep)
    gate.hold(5)
    gate.hold(2)  # an earlier instant never shortens the wait
    await gate.wait(deadline=clock.now + 100)
    assert waits == [5.0, 3.0]
    assert gate.remaining() == 0
