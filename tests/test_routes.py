"""User routes through a real aiohttp app: REST, long-poll, WebSocket, health, and bad input."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from extension import keys
from extension.app import build_app
from extension.config import Config
from extension.flows.session import SessionKey
from extension.manifest import Manifest

Client = Callable[..., Awaitable[TestClient[Any, Any]]]
URL = "/support-bot"
Q = {"userId": "u1", "sessionId": "s1"}


@pytest.fixture
def make_config(make_config: Callable[..., Config]) -> Callable[..., Config]:
    """Configs without a Genesys connection: the user routes need none, and with one the app would
    reach out to the real Genesys login host at start-up (a DNS lookup that can hold up the end of a
    test for seconds)."""
    return functools.partial(make_config, handover=False)


@pytest.fixture
async def client(
    aiohttp_client: Client, make_config: Callable[..., Config], manifest: Manifest
) -> TestClient[Any, Any]:
    return await aiohttp_client(build_app(make_config(), manifest))


async def post(client: TestClient[Any, Any], body: Any, url: str = URL) -> tuple[int, Any]:
    resp = await client.post(url, data=body if isinstance(body, bytes | str) else json.dumps(body),
                             headers={"Content-Type": "application/json"})
    return resp.status, await resp.json()


async def test_post_returns_bot_outputs(client: TestClient[Any, Any]) -> None:
    status, body = await post(client, {**Q, "text": "hi"})
    assert status == 200
    assert body == {"userId": "u1", "sessionId": "s1",
                    "outputStack": [{"text": "Hello", "data": None, "source": "bot"}]}
    status, body = await post(client, {**Q, "text": "ping"})
    assert body["outputStack"] == [{"text": "You said: ping", "data": None, "source": "bot"}]


async def test_long_poll_returns_logged_events_with_seq(client: TestClient[Any, Any]) -> None:
    await post(client, {**Q, "text": "hi"})
    await post(client, {**Q, "text": "two"})
    resp = await client.get(f"{URL}/events", params=Q)
    body = await resp.json()
    assert [e["seq"] for e in body["events"]] == [1, 2] and body["next"] == 2
    event = body["events"][1]
    assert event["type"] == "output" and event["source"] == "bot" and event["text"] == "You said: two"
    assert set(event) == {"seq", "type", "source", "text", "data", "time", "id"}
    resp = await client.get(f"{URL}/events", params={**Q, "after": "1"})
    assert [e["seq"] for e in (await resp.json())["events"]] == [2]
    resp = await client.get(f"{URL}/events", params={**Q, "after": "2"})
    assert await resp.json() == {"events": [], "next": 2}


async def test_long_poll_waits_for_the_next_event(client: TestClient[Any, Any]) -> None:
    await post(client, {**Q, "text": "hi"})
    poll = asyncio.create_task(client.get(f"{URL}/events", params={**Q, "after": "1", "wait": "10"}))
    await asyncio.sleep(0.05)  # a short look that the poll does not answer without a new event
    assert not poll.done()
    await post(client, {**Q, "text": "later"})
    resp = await asyncio.wait_for(poll, 5)
    body = await resp.json()
    assert [e["text"] for e in body["events"]] == ["You said: later"] and body["next"] == 2


async def test_websocket_replays_pushes_and_accepts_messages(client: TestClient[Any, Any]) -> None:
    await post(client, {**Q, "text": "hi"})
    ws = await client.ws_connect(f"{URL}/socket", params={**Q, "after": "0"})
    replay = await ws.receive_json(timeout=5)
    assert replay["seq"] == 1 and replay["text"] == "Hello"
    await ws.send_json({"type": "message", "text": "over the socket"})
    live = await ws.receive_json(timeout=5)
    assert live["seq"] == 2 and live["text"] == "You said: over the socket"
    await post(client, {**Q, "text": "from rest"})
    assert (await ws.receive_json(timeout=5))["text"] == "You said: from rest"
    await ws.send_json({"type": "typing"})  # no handover: nothing happens, no error
    await ws.send_str("not json")
    assert await ws.receive_json(timeout=5) == {"type": "error", "error": "the frame is not valid JSON"}
    await ws.send_json({"type": "dance"})
    assert await ws.receive_json(timeout=5) == {"type": "error", "error": "type must be 'message' or 'typing'"}
    await ws.send_json({"type": "message", "text": 5})
    assert await ws.receive_json(timeout=5) == {"type": "error", "error": "text must be a string or null"}
    await ws.send_json([1])
    assert (await ws.receive_json(timeout=5))["error"] == "the body must be a JSON object"
    await ws.close()


async def test_websocket_after_skips_seen_events(client: TestClient[Any, Any]) -> None:
    await post(client, {**Q, "text": "hi"})
    await post(client, {**Q, "text": "x"})
    ws = await client.ws_connect(f"{URL}/socket", params={**Q, "after": "1"})
    assert (await ws.receive_json(timeout=5))["seq"] == 2
    await post(client, {**Q, "text": "y"})
    assert (await ws.receive_json(timeout=5))["seq"] == 3  # seq 1 was never replayed
    await ws.close()


async def test_websocket_bad_query_is_refused_before_upgrade(client: TestClient[Any, Any]) -> None:
    resp = await client.get(f"{URL}/socket", params={"userId": "u"})
    assert resp.status == 400 and await resp.json() == {"error": "sessionId is required"}
    resp = await client.get("/nope/socket", params=Q)
    assert resp.status == 404


async def test_health_ready_metrics(client: TestClient[Any, Any]) -> None:
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    resp = await client.get("/readyz")
    assert resp.status == 200 and (await resp.json())["status"] == "ready"
    await post(client, {**Q, "text": "hi"})
    text = await (await client.get("/metrics")).text()
    assert 'genesys_om_user_inputs_total{endpoint="support-bot",outcome="flow"} 1' in text
    assert "# TYPE genesys_om_http_request_seconds histogram" in text


async def test_readyz_fails_when_the_store_is_gone(
    aiohttp_client: Client, make_config: Callable[..., Config], manifest: Manifest
) -> None:
    client = await aiohttp_client(build_app(make_config(store="sqlite:///r.db"), manifest))
    assert (await client.get("/readyz")).status == 200
    await client.app[keys.STORE].close()
    resp = await client.get("/readyz")
    assert resp.status == 503 and (await resp.json())["store"] == "SQLite unreachable"


BAD_BODIES: list[tuple[Any, int, str]] = [
    (b"{not json", 400, "the body is not valid JSON"),
    ([1, 2], 400, "the body must be a JSON object"),
    ("\"text\"", 400, "the body must be a JSON object"),
    ({"sessionId": "s1", "text": "x"}, 400, "userId is required"),
    ({"userId": "u1", "text": "x"}, 400, "sessionId is required"),
    ({"userId": "", "sessionId": "s1"}, 400, "userId must be a non-empty string"),
    ({"userId": 5, "sessionId": "s1"}, 400, "userId must be a non-empty string"),
    ({"userId": "u\n1", "sessionId": "s1"}, 400, "userId must be a non-empty string"),
    ({"userId": "u" * 257, "sessionId": "s1"}, 400, "userId must be a non-empty string"),
    ({**Q, "text": 5}, 400, "text must be a string or null"),
    ({**Q, "text": ["a"]}, 400, "text must be a string or null"),
    ({**Q, "data": "x"}, 400, "data must be a JSON object or null"),
]


async def snapshot(client: TestClient[Any, Any]) -> tuple[Any, list[dict[str, Any]]]:
    """The stored session of Q and its whole event log."""
    store = client.app[keys.STORE]
    key = SessionKey("support-bot", Q["userId"], Q["sessionId"])
    return await store.get_session(key.id), await store.read_events(key.id, 0)


@pytest.mark.parametrize(("body", "status", "error"), [
    *BAD_BODIES,
    (json.dumps({**Q, "text": "x" * (1024 * 1024)}), 413, "the body is larger than 1048576 bytes"),
])
async def test_bad_bodies_are_refused_and_change_nothing(
    client: TestClient[Any, Any], body: Any, status: int, error: str
) -> None:
    await post(client, {**Q, "text": "hi"})  # Hello; the session now waits at "wait"
    before = await snapshot(client)
    assert before[0] is not None and [e["text"] for e in before[1]] == ["Hello"]
    got_status, got = await post(client, body)
    assert got_status == status and got["error"].startswith(error)
    assert await snapshot(client) == before
    # The pointer did not move either: the next good input continues where it was.
    assert (await post(client, {**Q, "text": "next"}))[1]["outputStack"][0]["text"] == "You said: next"


async def test_body_over_one_mib(client: TestClient[Any, Any]) -> None:
    body = json.dumps({**Q, "text": "x" * (1024 * 1024)})
    status, got = await post(client, body)
    assert status == 413 and got == {"error": "the body is larger than 1048576 bytes"}
    assert (await (await client.get(f"{URL}/events", params=Q)).json())["events"] == []


@pytest.mark.parametrize("params", [
    {**Q, "wait": "31"}, {**Q, "wait": "nan"}, {**Q, "after": "-1"}, {**Q, "after": "abc"}, {"userId": "u1"},
])
async def test_bad_long_polls_change_nothing(client: TestClient[Any, Any], params: dict[str, str]) -> None:
    await post(client, {**Q, "text": "hi"})
    before = await snapshot(client)
    assert (await client.get(f"{URL}/events", params=params)).status == 400
    assert await snapshot(client) == before


async def test_a_failing_node_answers_json_500_and_changes_nothing(
    aiohttp_client: Client, make_config: Callable[..., Config], manifest: Manifest, caplog: pytest.LogCaptureFixture
) -> None:
    from extension.flows.engine import NodeApi

    config = make_config()
    private = "redis://:hunter2@10.0.0.5:6379 refused"

    async def boom(api: NodeApi, node_config: dict[str, Any]) -> None:
        api.output("half a turn")
        raise ConnectionError(private)

    flow = config.flows["support-bot"]
    echo = flow.node("echo")
    assert echo is not None
    object.__setattr__(echo, "function", boom)
    client = await aiohttp_client(build_app(config, manifest))
    await post(client, {**Q, "text": "hi"})
    before = await snapshot(client)
    resp = await client.post(URL, json={**Q, "text": "boom"})
    assert resp.status == 500 and resp.content_type == "application/json"
    body = await resp.json()
    assert body == {"error": "the flow could not handle this input"}
    assert await snapshot(client) == before
    assert "node 'echo' (say) failed: ConnectionError" in caplog.text and "hunter2" not in caplog.text


async def test_unknown_url_token(client: TestClient[Any, Any]) -> None:
    status, body = await post(client, {**Q, "text": "x"}, url="/nobody")
    assert status == 404 and body == {"error": "unknown endpoint"}
    resp = await client.get("/nobody/events", params=Q)
    assert resp.status == 404 and await resp.json() == {"error": "unknown endpoint"}


@pytest.mark.parametrize(("params", "error"), [
    ({**Q, "wait": "31"}, "wait must be a number of seconds from 0 to 30"),
    ({**Q, "wait": "-1"}, "wait must be a number of seconds from 0 to 30"),
    ({**Q, "wait": "nan"}, "wait must be a number of seconds from 0 to 30"),
    ({**Q, "wait": "soon"}, "wait must be a number of seconds from 0 to 30"),
    ({**Q, "after": "-1"}, "after must be a non-negative integer"),
    ({**Q, "after": "1.5"}, "after must be a non-negative integer"),
    ({**Q, "after": "abc"}, "after must be a non-negative integer"),
    ({"userId": "u1"}, "sessionId is required"),
])
async def test_bad_long_poll_queries(client: TestClient[Any, Any], params: dict[str, str], error: str) -> None:
    resp = await client.get(f"{URL}/events", params=params)
    assert resp.status == 400 and await resp.json() == {"error": error}


async def test_unknown_route_and_method_are_json(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/a/b/c")
    assert resp.status == 404 and "error" in await resp.json()
    resp = await client.put(URL)
    assert resp.status == 405 and "error" in await resp.json()


async def test_sqlite_state_survives_an_app_restart(
    aiohttp_client: Client, make_config: Callable[..., Config], manifest: Manifest, tmp_path: Path
) -> None:
    config = make_config(store="sqlite:///state.db")
    first = await aiohttp_client(build_app(config, manifest))
    await post(first, {**Q, "text": "hi"})  # Hello, then waits
    await first.close()
    second = await aiohttp_client(build_app(config, manifest))
    status, body = await post(second, {**Q, "text": "after restart"})
    assert body["outputStack"][0]["text"] == "You said: after restart"  # the pointer survived
    events = (await (await second.get(f"{URL}/events", params=Q)).json())["events"]
    assert [e["seq"] for e in events] == [1, 2]  # so did the event log
    assert (tmp_path / "state.db").exists()


async def test_an_unexpected_failure_is_answered_in_json(
    aiohttp_client: Client, make_config: Callable[..., Config], manifest: Manifest
) -> None:
    app = build_app(make_config(), manifest)

    async def broken(request: Any) -> Any:
        raise RuntimeError("a bug")

    app.router.add_get("/broken", broken)
    client = await aiohttp_client(app)
    resp = await client.get("/broken")
    assert resp.status == 500 and resp.content_type == "application/json"
    assert set(await resp.json()) == {"error"}


async def _bot_texts(client: TestClient[Any, Any], **headers: str) -> list[str]:
    resp = await client.get(f"{URL}/events", params=Q, headers=headers)
    return [e["text"] for e in (await resp.json())["events"] if e["type"] == "output"]


async def test_a_post_resent_with_its_idempotency_key_is_applied_once(client: TestClient[Any, Any]) -> None:
    await post(client, {**Q, "text": "hi"})
    for _ in range(2):
        resp = await client.post(URL, json={**Q, "text": "once"}, headers={"Idempotency-Key": "k-1"})
        assert resp.status == 200
    # The repeat runs nothing: its answer has no outputs, and the log holds one answer.
    assert (await resp.json())["outputStack"] == []
    resp = await client.post(URL, json={**Q, "text": "twice"}, headers={"Idempotency-Key": "k-2"})
    assert (await resp.json())["outputStack"] == [{"text": "You said: twice", "data": None, "source": "bot"}]
    assert await _bot_texts(client) == ["Hello", "You said: once", "You said: twice"]
    # The key space is the session's, whichever route: a socket frame with the same id is a repeat too.
    ws = await client.ws_connect(f"{URL}/socket", params={**Q, "after": "3"})
    await ws.send_json({"type": "message", "id": "k-2", "text": "twice"})
    while (await asyncio.wait_for(ws.receive_json(), 10))["type"] != "ack":
        pass
    await ws.close()
    assert await _bot_texts(client) == ["Hello", "You said: once", "You said: twice"]


@pytest.mark.parametrize("key", ["", "x" * 257, "tab\there"])
async def test_a_bad_idempotency_key_is_refused_and_nothing_is_stored(client: TestClient[Any, Any], key: str) -> None:
    resp = await client.post(URL, json={**Q, "text": "hi"}, headers={"Idempotency-Key": key})
    assert resp.status == 400
    assert "Idempotency-Key" in (await resp.json())["error"]
    assert await _bot_texts(client) == []


async def test_a_repeat_never_hands_out_the_session_token(
        aiohttp_client: Client, make_config: Callable[..., Config], manifest: Manifest) -> None:
    client = await aiohttp_client(build_app(make_config(session_access="token"), manifest))
    resp = await client.post(URL, json={**Q, "text": "hi"}, headers={"Idempotency-Key": "first"})
    token = (await resp.json())["sessionToken"]
    # Knowing the ids and the key of the first input is not knowing the token: 401, nothing applied.
    resp = await client.post(URL, json={**Q, "text": "hi"}, headers={"Idempotency-Key": "first"})
    assert resp.status == 401 and "sessionToken" not in await resp.json()
    resp = await client.post(URL, json={**Q, "text": "hi"},
                             headers={"Idempotency-Key": "first", "X-Session-Token": token})
    assert resp.status == 200 and (await resp.json())["outputStack"] == []
    assert await _bot_texts(client, **{"X-Session-Token": token}) == ["Hello"]
