"""The login service and the bearer check on the API."""

from __future__ import annotations

import base64

import pytest

from extension.testing.emulator import Emulator
from extension.testing.emulator.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

from .conftest import Api, basic, make_config

QUEUES = "/api/v2/routing/queues"
BASIC = {"Authorization": basic(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)}


class FrozenClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def _token(api: Api, **kwargs: object) -> tuple[int, dict[str, object]]:
    response = await api.client.post("/oauth/token", **kwargs)  # type: ignore[arg-type]
    return response.status, await response.json()


async def test_good_credentials_get_a_bearer_token_with_the_configured_lifetime(api: Api) -> None:
    api.emulator.config.token_lifetime = 600
    status, body = await _token(
        api,
        data={"grant_type": "client_credentials"},
        headers=BASIC,
    )
    assert status == 200
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 600
    assert isinstance(body["access_token"], str) and len(body["access_token"]) >= 32
    status, _, _ = await api.call("GET", QUEUES, token=str(body["access_token"]))
    assert status == 200


async def test_each_token_is_new(api: Api) -> None:
    form = {"grant_type": "client_credentials"}
    tokens = {(await _token(api, data=form, headers=BASIC))[1]["access_token"] for _ in range(3)}
    assert len(tokens) == 3


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer abc"}, 401),
        ({"Authorization": "Basic !!!not-base64"}, 401),
        ({"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}, 401),
        ({"Authorization": "Basic " + base64.b64encode(b"unknown-client:x").decode()}, 400),
        (
            {"Authorization": "Basic " + base64.b64encode(
                f"{DEFAULT_CLIENT_ID}:wrong-secret".encode()).decode()},
            401,
        ),
    ],
    ids=["missing", "bearer", "not-base64", "no-colon", "unknown-client", "wrong-secret"],
)  # fmt: skip
async def test_bad_credentials_get_invalid_client(
    api: Api, headers: dict[str, str], status: int
) -> None:
    got, body = await _token(api, data={"grant_type": "client_credentials"}, headers=headers)
    assert got == status
    assert body["error"] == "invalid_client"
    assert body["description"] and body["error_description"] == body["description"]


@pytest.mark.parametrize("form", [{}, {"grant_type": "password"}])
async def test_other_grant_types_are_refused(api: Api, form: dict[str, str]) -> None:
    status, body = await _token(api, data=form, headers=BASIC)
    assert status == 400
    assert body["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    "authorization", [None, "Bearer unknown-token", "Basic abc", "Bearer "]
)
async def test_api_without_a_valid_token_is_401(api: Api, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with api.client.get(QUEUES, headers=headers) as response:
        body = await response.json()
        assert response.status == 401
        assert body["code"] == "authentication.required"
        assert body["status"] == 401
        assert body["contextId"] == response.headers["Genesys-Correlation-Id"]


async def test_expired_token_is_401(aiohttp_client, middleware) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock()
    emulator = Emulator(make_config(middleware.url, token_lifetime=300), clock=clock)
    api = Api(await aiohttp_client(emulator.app), emulator)
    token = await api.token()
    clock.now += 299
    assert (await api.call("GET", QUEUES, token=token))[0] == 200
    clock.now += 1
    status, body, _ = await api.call("GET", QUEUES, token=token)
    assert status == 401
    assert body["code"] == "authentication.required"


async def test_revoked_tokens_are_401(api: Api) -> None:
    token = await api.token()
    assert api.emulator.faults.revoke_tokens() == 1
    status, body, _ = await api.call("GET", QUEUES, token=token)
    assert status == 401 and body["code"] == "authentication.required"
    fresh = api.emulator.issue_token()
    assert (await api.call("GET", QUEUES, token=fresh))[0] == 200


async def test_login_service_needs_no_bearer_and_every_answer_has_a_correlation_id(
    api: Api,
) -> None:
    async with api.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=BASIC
    ) as response:
        assert response.status == 200
        assert response.headers["Genesys-Correlation-Id"]
    headers = {"Authorization": f"Bearer {await api.token()}"}
    async with api.client.get("/api/v2/no/such/route", headers=headers) as response:
        body = await response.json()
        assert response.status == 404
        assert body["code"] == "not.found"
        assert body["contextId"] == response.headers["Genesys-Correlation-Id"]
