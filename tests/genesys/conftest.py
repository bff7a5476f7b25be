"""Shared fixtures: an aiohttp session, a retry policy that records its waits, a fake clock."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from aioresponses import core as aioresponses_core
from aioresponses.core import normalize_url

from extension.genesys import GenesysClient, RetryPolicy, resolve_region

REGION = resolve_region("mypurecloud.de")
API = REGION.api_base
LOGIN = REGION.login_base
TOKEN_URL = f"{LOGIN}/oauth/token"
CLIENT_ID = "client-id-1234"
CLIENT_SECRET = "s3cr3t-client-value-do-not-log"  # noqa: S105 - a test fixture
TOKEN = "tok-very-secret-bearer-value"  # noqa: S105 - a test fixture


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class RecordedSleeps:
    """An injected sleep that returns at once, records each wait and moves the fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps(clock: FakeClock) -> RecordedSleeps:
    return RecordedSleeps(clock)


@pytest.fixture
def policy(sleeps: RecordedSleeps, clock: FakeClock) -> RetryPolicy:
    # No jitter, so every backoff is exact and can be asserted.
    return RetryPolicy(
        max_attempts=4, max_total_seconds=30, backoff_base=0.5, backoff_max=8, jitter=0.5,
        sleep=sleeps, clock=clock, rand=lambda: 0.0,
    )


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


class _SentRequest:
    """Stands in for the request writer aiohttp 3.14 hands to every response."""

    output_size = 0


class _CompatResponse(aiohttp.ClientResponse):
    """aioresponses 0.7.9 builds responses without aiohttp 3.14's new `stream_writer` argument
    (pnuckowski/aioresponses#289); supply a finished one so mocked answers can be built."""

    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _SentRequest())
        super().__init__(method, url, **kwargs)


@pytest.fixture
def mocked(monkeypatch: pytest.MonkeyPatch) -> Iterator[aioresponses]:
    if "stream_writer" in inspect.signature(aiohttp.ClientResponse.__init__).parameters:
        monkeypatch.setattr(aioresponses_core, "ClientResponse", _CompatResponse)
    with aioresponses() as m:
        yield m


@pytest.fixture
def client(session: aiohttp.ClientSession, policy: RetryPolicy) -> GenesysClient:
    return GenesysClient(session, REGION, CLIENT_ID, CLIENT_SECRET, retry=policy)


def grant_token(mocked: aioresponses, token: str = TOKEN, expires_in: int = 86399,
                repeat: bool = False) -> None:
    """Register one successful token answer."""
    mocked.post(TOKEN_URL, payload={"access_token": token, "token_type": "bearer",
                                    "expires_in": expires_in}, repeat=repeat)


def calls(mocked: aioresponses, method: str, url: str) -> list[dict[str, object]]:
    """The keyword arguments of every request made to `method url` (query included in url)."""
    return [call.kwargs for call in mocked.requests.get((method, normalize_url(url)), [])]
