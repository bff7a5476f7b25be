"""Faults on demand: 429 with Retry-After, 5xx, latency, and the same over HTTP."""

from __future__ import annotations

import pytest

from .conftest import Api

QUEUES = "/api/v2/routing/queues"
MESSAGE = "/api/v2/conversations/messages/*/inbound/open/message"


async def test_rate_limit_answers_429_with_retry_after_n_times(api: Api) -> None:
    api.emulator.faults.rate_limit(QUEUES, times=2, retry_after=7)
    for _ in range(2):
        status, body, headers = await api.call("GET", QUEUES)
        assert status == 429
        assert headers["Retry-After"] == "7"
        assert body["code"] == "too.many.requests" and body["status"] == 429
        assert body["contextId"] == headers["Genesys-Correlation-Id"]
    assert (await api.call("GET", QUEUES))[0] == 200


async def test_rate_limit_only_matches_its_path_and_method(api: Api) -> None:
    api.emulator.faults.rate_limit(MESSAGE, method="POST", times=None)
    assert (await api.call("GET", QUEUES))[0] == 200
    status, _, _ = await api.call(
        "POST", MESSAGE.replace("*", "integration-1"), {"channel": {}}
    )
    assert status == 429
    assert api.emulator.inbound_messages() == []


async def test_until_cleared(api: Api) -> None:
    api.emulator.faults.server_error(QUEUES, times=None)
    for _ in range(3):
        assert (await api.call("GET", QUEUES))[0] == 503
    api.emulator.faults.clear()
    assert (await api.call("GET", QUEUES))[0] == 200


@pytest.mark.parametrize(
    ("status", "code"),
    [(500, "internal.server.error"), (503, "service.unavailable"), (504, "request.timeout")],
)
async def test_server_errors_have_genesys_bodies(api: Api, status: int, code: str) -> None:
    api.emulator.faults.server_error(QUEUES, status=status)
    got, body, _ = await api.call("GET", QUEUES)
    assert got == status and body["code"] == code and body["status"] == status
    assert (await api.call("GET", QUEUES))[0] == 200


async def test_faults_on_the_token_endpoint(api: Api) -> None:
    api.emulator.faults.server_error("/oauth/token", status=502)
    with pytest.raises(AssertionError):
        await api.token()
    assert await api.token()


async def test_server_error_needs_a_5xx(api: Api) -> None:
    with pytest.raises(ValueError):
        api.emulator.faults.server_error(status=404)


async def test_latency_delays_answers(api: Api) -> None:
    delays: list[float] = []

    async def record(seconds: float) -> None:
        delays.append(seconds)

    await api.token()
    api.emulator.faults.sleep = record
    api.emulator.faults.set_latency(0.01)
    api.emulator.faults.slow(QUEUES, 2.0, times=1)
    assert (await api.call("GET", QUEUES))[0] == 200
    assert (await api.call("GET", QUEUES))[0] == 200
    await api.inbound("hi")
    assert delays == [2.01, 0.01, 0.01]
    await api.client.get("/emulator/conversations")  # the control routes are never delayed
    assert len(delays) == 3


async def test_real_latency_still_answers(api: Api) -> None:
    api.emulator.faults.set_latency(0.001)
    assert (await api.call("GET", QUEUES))[0] == 200


async def test_faults_over_http(api: Api) -> None:
    async with api.client.post(
        "/emulator/faults", json={"kind": "rate_limit", "path": QUEUES, "retryAfter": 3}
    ) as response:
        assert response.status == 200
    status, _, headers = await api.call("GET", QUEUES)
    assert status == 429 and headers["Retry-After"] == "3"
    await api.client.post("/emulator/faults", json={"kind": "server_error", "times": None})
    assert (await api.call("GET", QUEUES))[0] == 503
    async with api.client.delete("/emulator/faults") as response:
        assert response.status == 204
    assert (await api.call("GET", QUEUES))[0] == 200
    async with api.client.post("/emulator/faults", json={"kind": "revoke_tokens"}) as response:
        assert (await response.json())["result"] == 1
    assert (await api.call("GET", QUEUES))[0] == 401
    async with api.client.post("/emulator/faults", json={"kind": "nonsense"}) as response:
        assert response.status == 400
    async with api.client.post("/emulator/faults", json={"kind": "redeliver_webhook"}) as response:
        assert response.status == 409


async def test_request_records(api: Api) -> None:
    answer = await api.inbound("hi", attributes={"queue": "Support"})
    [record] = api.emulator.requests.matching(MESSAGE, method="POST")
    assert record.status == 200
    assert record.query == {"prefetchConversationId": "true"}
    assert record.json["text"] == "hi"
    assert record.headers["Authorization"].startswith("Bearer ")
    assert record.correlation_id
    assert [r.path for r in api.emulator.requests] == ["/oauth/token", record.path]
    assert api.emulator.inbound_messages(answer["conversationId"])[0].body == record.json
    async with api.client.get("/emulator/requests", params={"path": MESSAGE}) as response:
        [listed] = (await response.json())["requests"]
        assert listed["json"]["text"] == "hi" and listed["status"] == 200

