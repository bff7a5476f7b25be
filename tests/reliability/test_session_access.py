"""Session access (docs/CONTRACT.md 5.1): the ids alone neither read nor write a session, on every route and store."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer

from extension import keys
from extension.app import build_app
from extension.channels.access import SessionTokens
from extension.config import Config, ConfigError, load_config
from extension.copilot import issue_token
from extension.flows.session import SessionKey
from extension.manifest import Manifest
from extension.providers.genesys_om.state import HandoverState
from extension.secrets import Secret

from .ledger import Ledger
from stack import StackFactory
from support import config_text

URL = "/support-bot"
IDS = {"userId": "u1", "sessionId": "s1"}
SESSION_SECRET = "session-secret-for-tests-0123456789abcdef"



Started = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def started(tmp_path: Path, manifest: Manifest) -> AsyncIterator[Started]:
    """Runtimes on loopback, each from its own config (several may share one store)."""
    clients: list[TestClient[Any, Any]] = []

    async def start(store: str = "memory://", endpoint_extra: str = "", server_extra: str = "",
                    name: str = "config") -> TestClient[Any, Any]:
        (tmp_path / "flow.json").write_text(json.dumps({"name": "echo", "nodes": [
            {"id": "echo", "type": "say", "config": {"text": "echo: {{input.text}}"}},
            {"id": "ask", "type": "waitForInput", "next": "echo"}]}))
        path = tmp_path / f"{name}.toml"
        path.write_text(config_text(store=store, handover=False, endpoint_extra=endpoint_extra,
                                    server_extra=server_extra, session_access=None))
        client: TestClient[Any, Any] = TestClient(TestServer(build_app(load_config(path, manifest, env={}),
                                                                       manifest), host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in reversed(clients):
        await client.close()


async def _post(client: TestClient[Any, Any], text: str, token: str | None = None,
                ids: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"X-Session-Token": token} if token is not None else {}
    resp = await client.post(URL, json={**(ids or IDS), "text": text}, headers=headers)
    return resp.status, await resp.json()


async def _stored(client: TestClient[Any, Any], key: SessionKey = SessionKey("support-bot", "u1", "s1")) -> Any:
    store = client.server.app[keys.STORE]
    return await store.get_session(key.id), await store.read_events(key.id, 0)


async def test_the_ids_alone_neither_read_nor_write_a_session(started: Started, store_url: str,
                                                              ledger: Ledger) -> None:
    client = await started(store_url)
    status, first = await _post(client, "hello")
    assert status == 200 and first["outputStack"][0]["text"] == "echo: hello"
    token = first["sessionToken"]
    assert token.startswith("st1.") and len(token) == 47  # an HMAC-SHA256, not the ids
    before = await _stored(client)

    changed = token[:-2] + ("BA" if token.endswith("AA") else "AA")
    for presented in (None, "", "st1.forged", changed, issue_token(Secret("c" * 40), SessionKey(
            "support-bot", "u1", "s1"))):
        status, body = await _post(client, "I am the user, trust me", presented)
        assert status == 401, (presented, body)
        assert "sessionToken" in body["error"] or "already exists" in body["error"]
        resp = await client.get(f"{URL}/events", params={**IDS, **({"sessionToken": presented} if presented else {})})
        assert resp.status == 401
        resp = await client.delete(f"{URL}/session", params=IDS,
                                   headers={"X-Session-Token": presented} if presented else {})
        assert resp.status == 401
        assert await _stored(client) == before  # nothing changed, nothing was deleted

    status, again = await _post(client, "second", token)
    assert status == 200 and again["sessionToken"] == token
    by_header = await client.get(f"{URL}/events", params=IDS, headers={"X-Session-Token": token})
    by_query = await client.get(f"{URL}/events", params={**IDS, "sessionToken": token})
    assert by_header.status == by_query.status == 200
    assert [e["text"] for e in (await by_query.json())["events"]] == ["echo: hello", "echo: second"]
    assert (await client.delete(f"{URL}/session", params=IDS, headers={"X-Session-Token": token})).status == 204
    ledger.record(f"hostile: the ids alone, no or a forged session token ({store_url.split(':')[0]})",
                  "POST, events and DELETE with no token, an empty one, a forged one, a cut one and a Copilot "
                  "token: 401 each (15), nothing changed or deleted", user=(5, 0, 0))


async def test_a_token_opens_only_the_session_it_was_given_for(started: Started) -> None:
    client = await started()
    _, mine = await _post(client, "hello")
    _, theirs = await _post(client, "private words", ids={"userId": "u2", "sessionId": "s1"})
    other_session = {"userId": "u2", "sessionId": "s9"}
    for ids in ({"userId": "u2", "sessionId": "s1"}, other_session):
        resp = await client.get(f"{URL}/events", params={**ids, "sessionToken": mine["sessionToken"]})
        assert resp.status == 401
    status, _ = await _post(client, "as u2", mine["sessionToken"], ids={"userId": "u2", "sessionId": "s1"})
    assert status == 401
    assert theirs["sessionToken"] != mine["sessionToken"]


async def test_every_replica_verifies_a_token_without_reading_the_store(started: Started, tmp_path: Path) -> None:
    # A generated key is kept in the store: a second replica on the same store takes the same one.
    shared = f"sqlite:///{tmp_path / 'shared.db'}"
    a = await started(shared, name="a")
    b = await started(shared, name="b")
    _, first = await _post(a, "hello")
    assert (await _post(b, "on b", first["sessionToken"]))[0] == 200
    # With [server] session_secret, replicas agree with no shared store at all.
    secret = f'session_secret = "{SESSION_SECRET}"'
    c = await started(server_extra=secret, name="c")
    d = await started(server_extra=secret, name="d")
    _, on_c = await _post(c, "hello")
    assert on_c["sessionToken"] == SessionTokens(SESSION_SECRET.encode()).issue(SessionKey("support-bot", "u1", "s1"))
    resp = await d.get(f"{URL}/events", params={**IDS, "sessionToken": on_c["sessionToken"]})
    assert resp.status == 200 and (await resp.json())["events"] == []  # d has no such session: nothing read
    assert repr(c.server.app[keys.CONFIG].server.session_secret) == "Secret(***)"


async def test_a_socket_without_its_token_may_only_start_a_new_session(started: Started, store_url: str) -> None:
    client = await started(store_url)
    # New ids: the socket opens, its first message creates the session and brings the token.
    async with client.ws_connect(f"{URL}/socket", params=IDS) as ws:
        await ws.send_json({"type": "message", "id": "m1", "text": "hi"})
        frames = [await ws.receive_json(timeout=5) for _ in range(3)]
    session = next(f for f in frames if f["type"] == "session")
    assert any(f.get("type") == "output" and f["text"] == "echo: hi" for f in frames)
    assert {"type": "ack", "id": "m1"} in frames
    token = session["sessionToken"]
    assert token == (await _post(client, "next", token))[1]["sessionToken"]
    # The session exists now: without (or with a wrong) token the socket is refused before it opens.
    for params in (IDS, {**IDS, "sessionToken": "st1.nope"}):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with client.ws_connect(f"{URL}/socket", params=params):
                pass
        assert refused.value.status == 401
    async with client.ws_connect(f"{URL}/socket", params={**IDS, "sessionToken": token}) as ws:
        replayed = [await ws.receive_json(timeout=5) for _ in range(2)]
    assert [e["text"] for e in replayed] == ["echo: hi", "echo: next"]


async def test_a_tokenless_socket_never_sees_a_session_someone_else_creates(started: Started) -> None:
    client = await started()
    async with client.ws_connect(f"{URL}/socket", params=IDS) as lurker:
        status, _ = await _post(client, "my secret")  # the real user starts the session meanwhile
        assert status == 200
        with pytest.raises(asyncio.TimeoutError):
            await lurker.receive_json(timeout=0.5)
        await lurker.send_json({"type": "message", "id": "m1", "text": "let me in"})
        refused = await lurker.receive_json(timeout=5)
        assert refused["type"] == "error" and "already exists" in refused["error"]
        closed = await lurker.receive(timeout=5)
        assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 4401
    _, events = await _stored(client)
    assert [e["text"] for e in events] == ["echo: my secret"]


async def test_an_api_key_endpoint_takes_its_bearer_and_nothing_else(started: Started) -> None:
    client = await started(endpoint_extra='sessionAccess = "apiKey"\napiKey = "server-to-server-key-123"')
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic server-to-server-key-123"},
                    {"X-Session-Token": "st1.anything"}):
        resp = await client.post(URL, json={**IDS, "text": "x"}, headers=headers)
        assert resp.status == 401 and "API key" in (await resp.json())["error"]
        assert (await client.get(f"{URL}/events", params=IDS, headers=headers)).status == 401
    good = {"Authorization": "Bearer server-to-server-key-123"}
    resp = await client.post(URL, json={**IDS, "text": "x"}, headers=good)
    body = await resp.json()
    assert resp.status == 200 and "sessionToken" not in body
    assert (await client.get(f"{URL}/events", params=IDS, headers=good)).status == 200


async def test_an_open_endpoint_takes_the_ids_and_says_so_at_start(started: Started,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="extension.channels.access"):
        client = await started(endpoint_extra='sessionAccess = "open"')
    assert (await _post(client, "a"))[0] == 200
    status, body = await _post(client, "b")
    assert status == 200 and "sessionToken" not in body
    assert (await client.get(f"{URL}/events", params=IDS)).status == 200
    warnings = [r.getMessage() for r in caplog.records if "sessionAccess" in r.getMessage()]
    assert len(warnings) == 1 and "'support-bot'" in warnings[0] and "trusted networks" in warnings[0]


@pytest.mark.parametrize(("endpoint_extra", "error"), [
    ('sessionAccess = "apiKey"', 'endpoints[0].apiKey: required with sessionAccess = "apiKey"'),
    ('apiKey = "key-without-a-mode-123"', 'endpoints[0].apiKey: only used with sessionAccess = "apiKey"'),
    ('sessionAccess = "public"', "endpoints[0].sessionAccess:"),
])
def test_config_refuses_an_inconsistent_session_access(make_config: Callable[..., Config], endpoint_extra: str,
                                                       error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_config(endpoint_extra=endpoint_extra)
    assert any(line.startswith(error) for line in caught.value.errors), caught.value.errors
    assert "key-without-a-mode-123" not in str(caught.value)


def test_config_refuses_a_short_session_secret(make_config: Callable[..., Config]) -> None:
    with pytest.raises(ConfigError) as caught:
        make_config(server_extra='session_secret = "short"')
    assert any(line.startswith("server.session_secret: Too short") for line in caught.value.errors)
    assert "short\"" not in str(caught.value)


async def test_a_copilot_token_shows_no_ids_and_opens_no_user_route(started: Started) -> None:
    secret = Secret("copilot-secret-for-tests-0123456789")
    client = await started(server_extra=f'copilot_secret = "{secret.reveal()}"')
    _, first = await _post(client, "hello")
    copilot = issue_token(secret, SessionKey("support-bot", "u1", "s1"), handover="genesys-user-1")
    # Long, distinctive ids: a short one could turn up by chance in the random bytes of the ref.
    shown = issue_token(secret, SessionKey("support-bot", "customer-alice-42", "session-xyz-77"),
                        handover="genesys-user-1")
    payload = jwt.decode(shown, options={"verify_signature": False})
    readable = json.dumps(payload) + base64.urlsafe_b64decode(payload["ref"] + "==").decode("latin-1")
    assert [word for word in ("customer-alice-42", "session-xyz-77", "genesys-user-1") if word in readable] == []
    assert set(payload) == {"ref", "urlToken", "iat", "exp"}
    for headers, params in (({"X-Session-Token": copilot}, IDS), ({}, {**IDS, "sessionToken": copilot}),
                            ({"Authorization": f"Bearer {copilot}"}, IDS)):
        assert (await client.get(f"{URL}/events", params=params, headers=headers)).status == 401
        assert (await client.post(URL, json={**IDS, "text": "x"}, headers=headers)).status == 401
        assert (await client.delete(f"{URL}/session", params=params, headers=headers)).status == 401
    assert (await _post(client, "still mine", first["sessionToken"]))[0] == 200


@pytest.mark.parametrize("field", ["text", "userId", "sessionId"])
async def test_a_lone_surrogate_is_refused_with_a_clear_error(started: Started, field: str, ledger: Ledger) -> None:
    client = await started()
    body = {**IDS, "text": "hi", field: "bad \ud800 text"}
    raw = json.dumps(body)  # ASCII JSON with the escape "\ud800", as a client may send it
    resp = await client.post(URL, data=raw, headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert (await resp.json())["error"].startswith(f"{field} holds a lone surrogate")
    assert await _stored(client, SessionKey("support-bot", body["userId"], body["sessionId"])) == (None, [])
    ledger.record(f"hostile: a lone surrogate in {field}", '"\\ud800" in a POST body: 400 naming the field, '
                  "nothing stored", user=(1, 0, 0))


async def test_a_lone_surrogate_in_a_stored_transcript_does_not_break_the_copilot_page(
        make_stack: StackFactory) -> None:
    # An agent's text comes from Genesys' JSON, which may carry a lone surrogate too. The page is
    # the Genesys provider's view, so the stack runs it.
    secret = Secret("copilot-secret-for-tests-0123456789")
    stack = await make_stack(server_extra=f'copilot_secret = "{secret.reveal()}"')
    client = stack.client
    await stack.say("hello")
    key = SessionKey("support-bot", "u1", "s1")
    store = stack.store
    doc = await store.get_session(key.id)
    doc["handover"] = HandoverState("support", "g-1", "c-1", "i-1", "q-1", "Support", status="active").to_doc()
    doc["transcript"].append({"role": "agent", "text": "odd \ud800 text", "time": time.time()})
    await store.commit(key.id, doc, [])
    page = await client.get("/copilot", params={"URLToken": "support-bot",
                                                "auth": issue_token(secret, key, handover="g-1")})
    assert page.status == 200
    assert "odd \ufffd text" in await page.text()
