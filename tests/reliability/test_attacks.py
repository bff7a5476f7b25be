"""Bad input and attacks: webhook bodies, user routes, tenant isolation, secrets in logs."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extension.genesys.signature import sign
from extension.providers.genesys_om.signature_alarm import AGENT_UNREACHABLE
from extension.testing.emulator.config import DEFAULT_CLIENT_SECRET, DEFAULT_INTEGRATION_ID, DEFAULT_WEBHOOK_SECRET
from extension.texts import FLOW_FAILED

from .ledger import Ledger
from stack import (
    FLAGS,
    Stack,
    StackFactory,
    agent_message,
    genesys_user_id,
    post_signed,
    start_handover,
    texts,
    wait_inbound,
)
from support import eventually

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False),
                      st.text(max_size=40))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                             st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                          max_leaves=12)
FIELDS = ["id", "type", "text", "channel", "content", "events", "originatingEntity", "direction", "conversationId",
          "status", "reasons", "isFinalReceipt"]


@st.composite
def webhook_shapes(draw: st.DrawFn, to_id: str) -> dict[str, Any]:
    """Messages shaped like Genesys' with any field replaced by any JSON value."""
    body = agent_message(to_id, draw(st.text(max_size=50)), message_id=draw(st.text(min_size=1, max_size=20)))
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        body[name] = draw(json_value)
    if isinstance(body.get("channel"), dict) and draw(st.booleans()):
        body["channel"][draw(st.sampled_from(["to", "from", "time", "messageId"]))] = draw(json_value)
    if isinstance(body.get("channel"), dict):
        body["channel"]["id"] = DEFAULT_INTEGRATION_ID
    return body


@pytest.fixture
async def live(make_stack: StackFactory) -> tuple[Stack, str, str]:
    # The examples come far faster than a person types: the send budgets (test_send_budget.py) are
    # raised out of the way, so that every example meets the same active handover.
    stack = await make_stack(extra="session_messages_per_minute = 10000\nconnection_messages_per_minute = 100000\n")
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    await stack.wait_status("active")  # read from Genesys after the user.start: settled before the examples
    return stack, cid, await genesys_user_id(stack)


@FAST
@given(data=st.data())
async def test_webhook_property_never_500_and_never_unsigned_delivery(live: tuple[Stack, str, str],
                                                                      data: st.DataObject) -> None:
    stack, _, to_id = live
    body = data.draw(webhook_shapes(to_id))
    raw = json.dumps(body).encode()
    before = len(await stack.events())
    forged = data.draw(st.sampled_from(["none", "wrong secret", "hex", "truncated"]))
    header = {"none": "", "wrong secret": sign("not-the-secret-0123456789", raw),
              # The digest as hex instead of base64, as some HMAC senders do: not Genesys' format.
              "hex": "sha256=" + hmac.new(DEFAULT_WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest(),
              "truncated": sign(DEFAULT_WEBHOOK_SECRET, raw)[:-3]}[forged]
    status, _ = await post_signed(stack, raw, signature=header)
    assert status == 401
    # Nothing of an unsigned body is delivered; a signature that fails only tells the user, once, that
    # the agent cannot reach them.
    assert all(e["type"] == "output" and e["source"] == "system" and e["text"] == AGENT_UNREACHABLE
               for e in (await stack.events())[before:])
    status, answer = await post_signed(stack, raw)
    # Signed by Genesys: accepted whatever its shape, never a 500; only a body that does not name the
    # integration (no channel object) cannot be matched to a secret, so it stays unverifiable.
    assert status == (200 if isinstance(body.get("channel"), dict) else 401), answer


# Texts and data that would move the scripted flow on ("agent" starts a handover, "cancel" ends
# one) are left out, so every example meets the session in the state the test set up.
def _inert(value: Any) -> bool:
    dumped = json.dumps(value).lower()
    return "agent" not in dumped and "cancel" not in dumped


identifier = st.text(st.characters(min_codepoint=32, blacklist_characters="\x7f"), min_size=1, max_size=40)
any_text = st.one_of(st.text(max_size=60), st.just("x" * 4001), st.just("Grüße 👋🏽 你好"))
# text and data of every JSON type (the valid ones, a string and an object, included).
content_value = st.one_of(st.none(), any_text, json_value, st.dictionaries(st.text(max_size=8), json_value,
                                                                            max_size=3)).filter(_inert)
MISSING = object()


@st.composite
def content(draw: st.DrawFn) -> dict[str, Any]:
    """`text` and `data`, each absent or any JSON value, maybe with an unknown field."""
    body: dict[str, Any] = {}
    for name in ("text", "data"):
        value = draw(st.one_of(st.just(MISSING), content_value))
        if value is not MISSING:
            body[name] = value
    if draw(st.booleans()):
        body[draw(st.sampled_from(["type2", "extra", "userID", "attachments"]))] = draw(content_value)
    return body


def valid_content(body: dict[str, Any]) -> bool:
    return (body.get("text") is None or isinstance(body["text"], str)) and (
        body.get("data") is None or isinstance(body["data"], dict))


async def session_state(stack: Stack, user: str) -> tuple[list[dict[str, Any]], Any]:
    """The session's events and its stored handover state."""
    from extension import keys
    from extension.flows.session import SessionKey

    doc = await stack.client.app[keys.STORE].get_session(SessionKey("support-bot", user, "s1").id)
    return await stack.events(user), (doc or {}).get("handover")


def settled(handover: Any) -> Any:
    # The outbox drains on its own; what must never change on a refused input is the rest.
    return {k: v for k, v in (handover or {}).items() if k not in ("outbox", "delay_notified")}


@FAST
@given(data=st.data())
async def test_user_route_property_never_500_never_half_applied(live: tuple[Stack, str, str],
                                                                data: st.DataObject) -> None:
    stack, cid, _ = live
    in_handover = data.draw(st.booleans())
    user = "u1" if in_handover else data.draw(identifier.filter(lambda u: u != "u1"))
    body = {"userId": user, "sessionId": "s1", **data.draw(content())}
    before_events, before_handover = await session_state(stack, user)
    resp = await stack.client.post("/support-bot", data=json.dumps(body), headers={"Content-Type": "application/json"})
    assert resp.status in (200, 400), await resp.text()
    after_events, after_handover = await session_state(stack, user)
    if resp.status == 400:
        assert set(await resp.json()) == {"error"}
        assert not valid_content(body) or len(body.get("text") or "") > 4000, body
        # Refused: nothing of the input was stored, nothing queued for the agent.
        assert after_events == before_events and settled(after_handover) == settled(before_handover)
    else:
        assert valid_content(body)
    if in_handover:
        # Still the same active handover, whatever came in.
        assert after_handover["status"] == "active"
        assert after_handover["conversation_id"] == before_handover["conversation_id"] == cid


@st.composite
def frame(draw: st.DrawFn, frame_id: str) -> dict[str, Any] | str:
    """A socket frame: a message, typing or another type with any content, or not an object at all."""
    kind = draw(st.one_of(st.sampled_from(["message", "message", "typing"]), json_value.filter(_inert)))
    if draw(st.integers(0, 9)) == 0:
        return draw(st.one_of(json_value.map(json.dumps), st.text(max_size=30)).filter(_inert))
    body: dict[str, Any] = {"type": kind, **draw(content())}
    # An id lets the test see which answer belongs to which frame; a few ids are invalid on purpose.
    body["id"] = draw(st.one_of(st.just(frame_id), st.sampled_from([None, "", 7, "x" * 300])))
    if body["id"] is None:
        del body["id"]
    return body


@FAST
@given(data=st.data())
async def test_websocket_frames_property(live: tuple[Stack, str, str], data: st.DataObject) -> None:
    stack, cid, _ = live
    in_handover = data.draw(st.booleans())
    user = "u1" if in_handover else "fuzz"
    # Frame ids are taken once per session (a resent frame is not applied twice): fresh ones each example.
    run = uuid.uuid4().hex
    frames = [data.draw(frame(f"{run}-{n}")) for n in range(data.draw(st.integers(1, 5)))]
    ws = await stack.client.ws_connect("/support-bot/socket", params={"userId": user, "sessionId": "s1"})
    answers: list[dict[str, Any]] = []
    # Earlier examples may have sent the same texts: only what this example sent is looked at.
    sent_before = len(stack.emu.inbound_messages(cid))

    async def answer_to(frame_id: str) -> dict[str, Any]:
        while True:
            msg = await ws.receive_json(timeout=10)
            answers.append(msg)
            assert msg.get("type") in ("ack", "error", "output", "handover", "typing"), msg
            if msg.get("type") in ("ack", "error") and msg.get("id") == frame_id:
                return msg

    if not in_handover:  # the first input of a session only starts its flow
        await ws.send_json({"type": "message", "text": "hello", "id": f"{run}-start"})
        assert (await answer_to(f"{run}-start"))["type"] == "ack"
    refused: list[dict[str, Any]] = []
    for number, sent in enumerate(frames):
        raw = sent if isinstance(sent, str) else json.dumps(sent)
        before = await session_state(stack, user)
        await ws.send_str(raw)
        if isinstance(sent, dict) and sent.get("type") == "message" and sent.get("id") == f"{run}-{number}":
            got = await answer_to(f"{run}-{number}")
            if got["type"] == "error":
                assert not valid_content(sent) or len(sent.get("text") or "") > 4000, (sent, got)
                refused.append(sent)
                after = await session_state(stack, user)
                # Refused: no event, no state change, the frame id not taken.
                assert after[0] == before[0] and settled(after[1]) == settled(before[1])
            else:
                assert valid_content(sent), sent
        else:
            # No answer names this frame: a message with an id behind it is handled after it (one
            # socket's frames are handled in order), so the next snapshot sees its effects settled.
            await ws.send_json({"type": "message", "text": f"sync {number}", "id": f"{run}-sync-{number}"})
            assert (await answer_to(f"{run}-sync-{number}"))["type"] == "ack"
    final = f"still alive {run}"
    await ws.send_json({"type": "message", "text": final, "id": run})
    assert (await answer_to(run))["type"] == "ack"
    assert not ws.closed
    assert not [a for a in answers if a.get("type") == "error" and a.get("error") == FLOW_FAILED]
    if in_handover:
        # The input reached the agent, and the session is still in its active handover.
        # A generous bound: a loaded machine sends slowly, a broken one never.
        await eventually(lambda: final in {m.text for m in stack.emu.inbound_messages(cid)},
                         f"{final!r} sent to the agent", within=30.0)
        got = [m.text for m in stack.emu.inbound_messages(cid)][sent_before:]
        assert final in got
        for bad in refused:
            if isinstance(bad.get("text"), str) and bad["text"]:
                assert bad["text"] not in got or any(f.get("text") == bad["text"] for f in frames
                                                     if isinstance(f, dict) and f not in refused)
        assert (await session_state(stack, user))[1]["status"] == "active"
    else:
        events = await stack.wait_for(lambda ev: f"echo: {final}" in texts(ev), user=user)
        assert not [e for e in events if e.get("type") == "handover"]
    await ws.close()


async def test_odd_bodies(live: tuple[Stack, str, str], ledger: Ledger) -> None:
    stack, _, to_id = live
    for raw, expected in ((b"not json", 400), (b"[1, 2, 3]", 401), (b"x" * (1024 * 1024 + 1), 413),
                          (json.dumps(agent_message(to_id, message_id="m-unknown", type="Hologram")).encode(), 200)):
        resp = await stack.client.post("/handover/genesysCloudOM", data=raw, headers={
            "X-Hub-Signature-256": sign(DEFAULT_WEBHOOK_SECRET, raw)})
        assert resp.status == expected, raw[:40]
    long_text = "x" * 3990 + "🎉🎉🎉"
    emoji = "Grüße 👋🏽 from the agent — 你好"
    for i, text in enumerate((long_text, emoji)):
        status, _ = await post_signed(stack, agent_message(to_id, text, message_id=f"m-text-{i}"))
        assert status == 200
    agent_texts = texts(await stack.events(), "agent")
    assert long_text in agent_texts and emoji in agent_texts
    ledger.record("webhook: 4000-character and emoji texts", "signed texts of 3993 chars and mixed scripts",
                  agent=(2, 0, 0))


async def test_replayed_webhook_is_delivered_once(live: tuple[Stack, str, str], ledger: Ledger) -> None:
    stack, _, to_id = live
    body = agent_message(to_id, "replay me", message_id="m-replay")
    for _ in range(3):
        status, _ = await post_signed(stack, body)
        assert status == 200
    assert texts(await stack.events(), "agent").count("replay me") == 1
    ledger.record("webhook replay", "the same signed message posted 3 times", agent=(1, 0, 0))


TWO_ORGS = """
[connections.acme]
type = "genesysCloudOM"
host = "{emu}"
deploymentName = "AcmeHandover"
queue = "Support"
webhookSecret = "acme-webhook-secret-0123456789"
clientId = "emulator-client-id"
clientSecret = "emulator-client-secret"
endHandoverApiKey = "acme-end-key-0123456789"

[connections.beta]
type = "genesysCloudOM"
host = "{emu}"
deploymentName = "BetaHandover"
queue = "Support"
webhookSecret = "beta-webhook-secret-0123456789"
clientId = "emulator-client-id"
clientSecret = "emulator-client-secret"
endHandoverApiKey = "beta-end-key-0123456789"
"""


async def test_tenant_isolation(tmp_path: Any, manifest: Any, ledger: Ledger) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from extension.app import build_app
    from extension.config import load_config
    from extension.testing.emulator import Emulator, EmulatorConfig, IntegrationConfig

    emu = Emulator(EmulatorConfig(webhook_retry_delay=0.05, heartbeat_interval=0.5, integrations=[
        IntegrationConfig(id="int-acme", name="AcmeHandover", webhook_secret="acme-webhook-secret-0123456789"),
        IntegrationConfig(id="int-beta", name="BetaHandover", webhook_secret="beta-webhook-secret-0123456789"),
    ]))
    await emu.start()
    from stack import HANDOVER_FLOW

    (tmp_path / "flow.json").write_text(json.dumps(HANDOVER_FLOW))
    config_path = tmp_path / "two.toml"
    config_path.write_text(TWO_ORGS.format(emu=emu.base_url) + """
[[endpoints]]
urlToken = "acme-bot"
organisation = "acme"
flow = "flow.json"
handover = "acme"
[[endpoints]]
urlToken = "beta-bot"
organisation = "beta"
flow = "flow.json"
handover = "beta"
[[endpoints]]
urlToken = "gamma-bot"
organisation = "gamma"
flow = "flow.json"
handover = "beta"
""")
    env = {**FLAGS, "FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST": "acme,beta"}
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(load_config(config_path, manifest, env=env),
                                                                   manifest)))
    await client.start_server()
    try:
        stacks = {org: Stack(emu, client, token=f"{org}-bot") for org in ("acme", "beta", "gamma")}
        for org in ("acme", "beta"):
            await stacks[org].say("hello")
            await stacks[org].say("agent")
        first = {r.json["channel"]["from"]["id"]: path_integration(r.path) for r in emu.requests
                 if r.path.endswith("/inbound/open/message")}
        beta_user = next(uid for uid, integration in first.items() if integration == "int-beta")
        beta_cid = next(c.id for c in emu.agent.conversations() if c.integration_id == "int-beta")
        # Signed with acme's secret, naming acme's integration, addressed to beta's user: refused delivery.
        body = agent_message(beta_user, "from the wrong tenant", message_id="m-cross")
        body["channel"]["id"] = "int-acme"
        raw = json.dumps(body).encode()
        resp = await client.post("/handover/genesysCloudOM", data=raw,
                                 headers={"X-Hub-Signature-256": sign("acme-webhook-secret-0123456789", raw)})
        assert resp.status == 200 and (await resp.json())["status"] == "failed"
        # Naming beta's integration but signed with acme's secret: 401.
        body["channel"]["id"] = "int-beta"
        raw = json.dumps(body).encode()
        resp = await client.post("/handover/genesysCloudOM", data=raw,
                                 headers={"X-Hub-Signature-256": sign("acme-webhook-secret-0123456789", raw)})
        assert resp.status == 401
        # Acme's end key cannot end beta's conversation.
        resp = await client.post("/handover/genesysCloudOM", json={"conversationId": beta_cid, "topic": "user.end",
                                                                   "disconnectType": "CLIENT"},
                                 headers={"Authorization": "Bearer acme-end-key-0123456789"})
        assert resp.status == 200
        import asyncio

        await asyncio.sleep(0.6)
        assert "from the wrong tenant" not in texts(await stacks["beta"].events())
        assert "completed" not in await stacks["beta"].handover_statuses()
        # An organisation outside the whitelist never hands over.
        await stacks["gamma"].say("hello")
        answer = await stacks["gamma"].say("agent")
        assert answer["outputStack"][-1]["text"] == "No agent: unsupported"
        assert len(emu.agent.conversations()) == 2
        ledger.record("tenant isolation (two organisations)", "cross-tenant message, signature and end key",
                      agent=(1, 0, 0))
    finally:
        await client.close()
        await emu.stop()


def path_integration(path: str) -> str:
    return path.split("/")[5]


async def test_no_secret_in_any_log_line(make_stack: StackFactory, caplog: pytest.LogCaptureFixture,
                                         ledger: Ledger) -> None:
    end_key = "end-key-never-logged-0123456789"
    caplog.set_level(logging.DEBUG)
    stack = await make_stack(connection_extra=f'endHandoverApiKey = "{end_key}"')
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    await stack.emu.agent.reply(cid, "hello")
    await stack.say("a user message")
    await post_signed(stack, agent_message("h-nobody", message_id="m-x"))  # Failed receipt path
    await post_signed(stack, agent_message("h-nobody", message_id="m-y"), signature="sha256=AAAA")
    await stack.client.post("/handover/genesysCloudOM", json={"conversationId": cid, "topic": "user.end"},
                            headers={"Authorization": "Bearer wrong"})
    tokens = set(stack.emu.tokens.issued())
    stack.emu.faults.revoke_tokens()
    await stack.say("after revoke")
    stack.emu.faults.server_error("/api/*", times=2)
    await stack.say("during errors")
    await wait_inbound(stack, cid, ["a user message", "after revoke", "during errors"])
    await stack.emu.agent.end(cid)
    await stack.wait_status("completed")
    tokens |= set(stack.emu.tokens.issued())
    assert len(tokens) >= 2  # the revoked token and its replacement were both in play
    logged = caplog.text + stack.printed_connections()
    for secret in (DEFAULT_CLIENT_SECRET, DEFAULT_WEBHOOK_SECRET, end_key, *tokens):
        assert secret not in logged
    assert any(r.levelno == logging.DEBUG for r in caplog.records)  # the capture saw the conversation
    ledger.record("secrets in logs", "DEBUG logging of a whole conversation and its error paths")


async def test_no_secret_in_error_paths(make_stack: StackFactory, caplog: pytest.LogCaptureFixture,
                                        manifest: Any, tmp_path: Any) -> None:
    import aiohttp

    from extension.config import ConfigError, load_config
    from extension.genesys import GenesysClient, GenesysError, resolve_region

    caplog.set_level(logging.DEBUG)
    stack = await make_stack()
    wrong = "wrong-client-secret-0123456789"
    async with aiohttp.ClientSession() as http:
        client = GenesysClient(http, resolve_region(str(stack.emu.base_url)), "emulator-client-id", wrong)
        with pytest.raises(GenesysError) as info:
            await client.find_integration("BotHandover")
    assert info.value.likely_cause == "credentials"  # type: ignore[attr-defined]
    shown = str(info.value) + repr(info.value) + repr(client) + caplog.text
    bad = tmp_path / "bad.toml"
    bad.write_text("""
[connections.x]
type = "genesysCloudOM"
host = "mypurecloud.de"
deploymentName = "D"
queue = "Q"
webhookSecret = "short-secret"
clientId = "id"
clientSecret = 42
endHandoverApiKey = "tiny"
[[endpoints]]
urlToken = "t"
flow = "missing.json"
""")
    with pytest.raises(ConfigError) as config_error:
        load_config(bad, manifest, env={})
    shown += str(config_error.value)
    for secret in (wrong, "short-secret", "tiny"):
        assert secret not in shown
