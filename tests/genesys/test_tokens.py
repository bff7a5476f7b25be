"""OAuth client-credentials tokens: wire format, caching, single flight, expiry, failures."""

from __future__ import annotations

import asyncio
import base64
import socket
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aioresponses import aioresponses

from extension.genesys import (
    GenesysAuthError,
    GenesysServerError,
    RetryPolicy,
    TokenProvider,
)

from .conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    LOGIN,
    TOKEN,
    TOKEN_URL,
    FakeClock,
    RecordedSleeps,
    calls,
    grant_token,
)

BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()


def provider(session: aiohttp.ClientSession, policy: RetryPolicy, clock: FakeClock,
             login: str = LOGIN) -> TokenProvider:
    return TokenProvider(session, login, CLIENT_ID, CLIENT_SECRET, clock=clock, retry=policy)


async def test_token_request_carries_basic_auth_and_the_form_body(
    mocked: aioresponses, session: aiohttp.ClientSession, policy: RetryPolicy, clock: FakeClock
) -> None:
    grant_token(mocked)
    tokens = provider(session, policy, clock)

    assert await tokens.get() == TOKEN

    [sent] = calls(mocked, "POST", TOKEN_URL)
    assert sent["headers"]["Authorization"] == BASIC  # type: ignore[index]
    assert sent["headers"]["Content-Type"] == "application/x-www-form-urlencoded"  # type: ignore[index]
    assert sent["data"] == "grant_type=client_credentials"
    assert tokens.requests_made == 1


async def test_token_request_as_a_real_server_receives_it(
    aiohttp_server: Any, session: aiohttp.ClientSession, policy: RetryPolicy, clock: FakeClock
) -> None:
    seen: list[dict[str, Any]] = []

    async def token(request: web.Request) -> web.Response:
        seen.append({"auth": request.headers.get("Authorization"),
                     "type": request.content_type, "form": dict(await request.post())})
        return web.json_response({"access_token": TOKEN, "expires_in": 86399})

    app = web.Application()
    app.router.add_post("/oauth/token", token)
    server = await aiohttp_server(app)
    tokens = provider(session, policy, clock, login=str(server.make_url("/")))

    assert await tokens.get() == TOKEN
    assert seen == [{"auth": BASIC, "type": "application/x-www-form-urlencoded",
                     "form": {"grant_type": "client_credentials"}}]


async def test_one_request_however_many_callers_wait(
    aiohttp_server: Any, session: aiohttp.ClientSession, policy: RetryPolicy, clock: FakeClock
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    hits = 0

    async def token(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        entered.set()
        await release.wait()  # Hold the answer until every caller is waiting for it.
        return web.json_response({"access_token": f"tok-{hits}", "expires_in": 86399})

    app = web.Application()
    app.router.add_post("/oauth/token", token)
    server = await aiohttp_server(app)
    tokens = provider(session, policy, clock, login=str(server.make_url("/")))

    waiters = [asyncio.ensure_future(tokens.get()) for _ in range(100)]
    await entered.wait()
    release.set()
    results = await asyncio.gather(*waiters)

    assert results == ["tok-1"] * 100
    assert hits == 1
    assert tokens.requests_made == 1
    assert await tokens.get() == "tok-1"  # Cached afterwards too.
    assert hits == 1


async def test_a_cancelled_waiter_does_not_cancel_the_shared_request(
    mocked: aioresponses, session: aiohttp.ClientSession, policy: RetryPolicy, clock: FakeClock
) -> None:
    grant_token(mocked)
    tokens = provider(session, policy, clock)
    first = asyncio.ensure_future(tokens.get())
    second = asyncio.ensure_future(tokens.get())
    await asyncio.sleep(0)
    first.cancel()

    assert await second == TOKEN
    assert first.cancelled()
    assert tokens.requests_made == 1


async def test_refreshed_60_seconds_before_expiry(
    mocked: aioresponses, session: aiohttp.ClientSession, policy: RetryPolicy, clock: FakeClock
) -> None:
    grant_token(mocked, token="first", expires_in=3600)
    grant_token(mocked, token="second", expires_in=3600)
    tokens = provider(session, policy, clock)
    start = clock.now

    assert await tokens.get() == "first"
    clock.now = start + 3600 - 60 - 0.001
    assert await tokens.get() == "first"
    assert tokens.requests_made == 1
    clock.now = start + 3600 - 60
    assert await tokens.get() == "second"
    assert tokens.requests_made == 2


async def test_a_short_lifetime_is_refreshed_at_half_time(
    mocked: aioresponses, session: aiohttp.ClientSession, policy: RetryPolicy, clock: FakeClock
) -> None:
    grant_token(mocked, token="first", expires_in=100)
    grant_token(mocked, token="second", expires_in=100)
    tokens = provider(session, policy, clock)
    start = clock.now

    assert await tokens.get() == "first"
    clock.now = start + 49
    assert await tokens.get() == "first"
    clock.now = start + 50
    assert await tokens.get() == "second"


async def test_a_missing_lifetime_assumes_the_shortest_genesys_allows(
    mocked: aioresponses, session: aiohttp.ClientSession, policy: RetryPolicy, clock: FakeClock
) -> None:
    mocked.post(TOKEN_URL, payload={"access_token": "first"})
    grant_token(mocked, token="second")
    tokens = provider(session, policy, clock)
    start = clock.now

    assert await tokens.get() == "first"
    clock.now = start + 239
    assert await tokens.get() == "first"
    clock.now = start + 240
    assert await tokens.get() == "second"


async def test_invalidate_forces_one_new_request_and_keeps_a_newer_token(
    mocked: aioresponses, session: aiohttp.ClientSession, policy: RetryPolicy, clock: FakeClock
) -> None:
    grant_token(mocked, token="first")
    grant_token(mocked, token="second")
    tokens = provider(session, policy, clock)

    assert await tokens.get() == "first"
    tokens.invalidate("first")
    assert await tokens.get() == "second"
    tokens.invalidate("first")  # A late 401 for the old token must not drop the new one.
    assert await tokens.get() == "second"
    assert tokens.requests_made == 2


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (401, {"error": "invalid_client", "description": "client not found"}, "invalid_client"),
        (400, {"error": "unauthorized_client", "error_description": "grant not allowed"},
         "unauthorized_client"),
    ],
)
async def test_refused_credentials_say_so_and_are_not_retried(
    mocked: aioresponses, session: aiohttp.ClientSession, policy: RetryPolicy, clock: FakeClock,
    sleeps: RecordedSleeps, status: int, body: dict[str, str], code: str,
) -> None:
    mocked.post(TOKEN_URL, status=status, payload=body,
                headers={"Genesys-Correlation-Id": "corr-7"})
    tokens = provider(session, policy, clock)

    with pytest.raises(GenesysAuthError) as caught:
        await tokens.get()

    error = caught.value
    assert error.likely_cause == "credentials"
    assert (error.status, error.code, error.correlation_id) == (status, code, "corr-7")
    assert "client id and secret" in str(error)
    assert tokens.requests_made == 1
    assert sleeps.waits == []


async def test_404_on_the_login_host_points_at_the_region(
    mocked: aioresponses, session: aiohttp.ClientSession, policy: RetryPolicy, clock: FakeClock
) -> None:
    mocked.post(TOKEN_URL, status=404, body="<html>not here</html>", content_type="text/html")
    with pytest.raises(GenesysAuthError) as caught:
        await provider(session, policy, clock).get()
    assert caught.value.likely_cause == "region"
    assert caught.value.status == 404
    assert "region host" in str(caught.value)


@pytest.mark.parametrize(
    "answer",
    [{"body": "<html>a portal</html>", "content_type": "text/html"},
     {"payload": {"token_type": "bearer"}}],
)
async def test_an_answer_without_a_token_points_at_the_region(
    mocked: aioresponses, session: aiohttp.ClientSession, policy: RetryPolicy, clock: FakeClock,
    answer: dict[str, Any],
) -> None:
    mocked.post(TOKEN_URL, status=200, **answer)
    with pytest.raises(GenesysAuthError) as caught:
        await provider(session, policy, clock).get()
    assert caught.value.likely_cause == "region"


async def test_an_unresolvable_login_host_points_at_the_network(
    mocked: aioresponses, session: aiohttp.ClientSession, policy: RetryPolicy, clock: FakeClock,
    sleeps: RecordedSleeps,
) -> None:
    mocked.post(TOKEN_URL, exception=aiohttp.ClientConnectionError("Name or service not known"),
                repeat=True)
    tokens = provider(session, policy, clock)
    with pytest.raises(GenesysAuthError) as caught:
        await tokens.get()
    assert caught.value.likely_cause == "network"
    assert caught.value.status is None
    assert tokens.requests_made == policy.max_attempts
    assert len(sleeps.waits) == policy.max_attempts - 1


async def test_a_refused_connection_points_at_the_network(
    session: aiohttp.ClientSession, policy: RetryPolicy, clock: FakeClock
) -> None:
    with socket.socket() as probe:  # A port nobody listens on once the probe is closed.
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    tokens = provider(session, policy, clock, login=f"http://127.0.0.1:{port}")
    with pytest.raises(GenesysAuthError) as caught:
        await tokens.get()
    assert caught.value.likely_cause == "network"
    assert caught.value.message == f"cannot reach 127.0.0.1:{port}: connection refused"
    assert "region" not in str(caught.value)


async def test_server_errors_are_retried_then_surface_as_server_errors(
    mocked: aioresponses, session: aiohttp.ClientSession, policy: RetryPolicy, clock: FakeClock,
    sleeps: RecordedSleeps,
) -> None:
    mocked.post(TOKEN_URL, status=503, payload={"code": "service.unavailable"})
    grant_token(mocked)
    tokens = provider(session, policy, clock)
    assert await tokens.get() == TOKEN
    assert sleeps.waits == [0.5]

    mocked.post(TOKEN_URL, status=503, payload={"code": "service.unavailable"}, repeat=True)
    tokens.invalidate(TOKEN)
    with pytest.raises(GenesysServerError):
        await tokens.get()


async def test_concurrent_callers_share_one_failure(
    mocked: aioresponses, session: aiohttp.ClientSession, policy: RetryPolicy, clock: FakeClock
) -> None:
    mocked.post(TOKEN_URL, status=401, payload={"error": "invalid_client"}, repeat=True)
    tokens = provider(session, policy, clock)
    results = await asyncio.gather(*(tokens.get() for _ in range(20)), return_exceptions=True)
    assert all(isinstance(r, GenesysAuthError) for r in results)
    assert tokens.requests_made == 1


async def test_repr_shows_neither_secret_nor_token(
    mocked: aioresponses, session: aiohttp.ClientSession, policy: RetryPolicy, clock: FakeClock
) -> None:
    grant_token(mocked)
    tokens = provider(session, policy, clock)
    await tokens.get()
    text = repr(tokens)
    assert CLIENT_SECRET not in text and TOKEN not in text
    assert "has_token=True" in text
