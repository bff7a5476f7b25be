"""Genesys misbehaving: 429 storms, 5xx and timeouts on every call, outages, token trouble, notifications."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from handover.test_lifecycle import start_handover

from extension.testing.emulator import Emulator, EmulatorConfig

from .conftest import Ledger
from stack import Stack, StackFactory, texts

INBOUND = "/api/v2/conversations/messages/*/inbound/open/message"


async def exchange_messages(stack: Stack, cid: str, users: list[str], agents: list[str]) -> None:
    """Send user and agent messages alternately (the agent needs to be connected)."""
    for i in range(max(len(users), len(agents))):
        if i < len(users):
            await stack.say(users[i])
        if i < len(agents):
            await stack.emu.agent.reply(cid, agents[i], wait=False)


async def settle(stack: Stack, cid: str, users: list[str], agents: list[str], within: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        got_users = {m.text for m in stack.emu.inbound_messages(cid)}
        got_agents = set(texts(await stack.events(), "agent"))
        if set(users) <= got_users and set(agents) <= got_agents:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)  # a duplicate would arrive now, if there were one


async def account(stack: Stack, cid: str, users: list[str], agents: list[str]) -> dict[str, tuple[int, int, int]]:
    """(sent, lost, doubled) each way; user messages resent with the same messageId count once."""
    inbound = [m for m in stack.emu.inbound_messages(cid) if m.text in users]
    by_text: dict[str, set[str]] = {}
    for m in inbound:
        by_text.setdefault(m.text or "", set()).add(m.message_id or "")
    user_lost = sum(1 for u in users if u not in by_text)
    user_doubled = sum(len(ids) - 1 for ids in by_text.values())
    agent_counts = Counter(t for t in texts(await stack.events(), "agent") if t in agents)
    agent_lost = sum(1 for a in agents if agent_counts[a] == 0)
    agent_doubled = sum(n - 1 for n in agent_counts.values() if n > 1)
    return {"user": (len(users), user_lost, user_doubled), "agent": (len(agents), agent_lost, agent_doubled)}


def in_order(stack: Stack, cid: str, users: list[str]) -> bool:
    seen = [m.text for m in stack.emu.inbound_messages(cid) if m.text in users]
    firsts = list(dict.fromkeys(seen))
    return firsts == users


async def run_scenario(stack: Stack, ledger: Ledger, name: str, injected: str, cid: str,
                       users: list[str], agents: list[str], *, users_sent: bool = False) -> None:
    await exchange_messages(stack, cid, [] if users_sent else users, agents)
    await settle(stack, cid, users, agents)
    counts = await account(stack, cid, users, agents)
    ledger.record(name, injected, user=counts["user"], agent=counts["agent"])
    assert counts["user"][1:] == (0, 0), counts
    assert counts["agent"][1:] == (0, 0), counts
    assert in_order(stack, cid, users)


async def test_429_storm_honours_retry_after_and_keeps_order(make_stack: StackFactory, ledger: Ledger) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    stack.emu.faults.rate_limit(INBOUND, times=3, retry_after=1)
    users, agents = [f"storm user {i}" for i in range(4)], [f"storm agent {i}" for i in range(4)]
    await run_scenario(stack, ledger, "429 storm on inbound messages", "3 x 429 with Retry-After: 1",
                       cid, users, agents)
    calls = [r for r in stack.emu.requests if r.path.endswith("/inbound/open/message") and r.time]
    limited = [r for r in calls if r.status == 429]
    assert len(limited) == 3
    for answer in limited:
        following = [r for r in calls if r.time > answer.time]
        assert following, "nothing was sent after the 429"
        # Retry-After is whole seconds: nothing may come back before it expires.
        assert following[0].time - answer.time >= 1.0 - 0.01


GENESYS_CALLS = [
    ("/oauth/token", "token"),
    ("/api/v2/conversations/messaging/integrations/open", "integrations"),
    ("/api/v2/routing/queues", "queues"),
    (INBOUND, "inbound message"),
    ("/api/v2/conversations/messages/*/inbound/open/receipt", "receipt"),
    ("/api/v2/notifications/channels", "notifications channel"),
    ("/api/v2/notifications/channels/*/subscriptions", "subscriptions"),
]


@pytest.mark.parametrize(("path", "what"), GENESYS_CALLS, ids=[w for _, w in GENESYS_CALLS])
async def test_5xx_burst_on_every_call(make_stack: StackFactory, ledger: Ledger, path: str, what: str) -> None:
    stack = await make_stack()
    stack.emu.faults.server_error(path, times=2, status=503)
    await stack.say("hello")
    await stack.say("agent")
    cid = await stack.conversation_id()
    await stack.subscribed(cid)
    await stack.emu.agent.accept(cid)
    users, agents = [f"{what} user {i}" for i in range(3)], [f"{what} agent {i}" for i in range(3)]
    await run_scenario(stack, ledger, f"5xx burst: {what}", "2 x 503", cid, users, agents)
    await stack.emu.agent.end(cid)
    await stack.wait_status("completed")


async def test_5xx_on_conversation_reads_and_participant_patch(make_stack: StackFactory, ledger: Ledger) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    stack.emu.faults.server_error("/api/v2/conversations/messages/*", method="GET", times=1)
    stack.emu.faults.server_error("/api/v2/conversations/messages/*/participants/*", times=1)
    answer = await stack.say("cancel")
    assert answer["outputStack"][-1]["text"] == "Handover cancelled."
    assert stack.emu.agent.get(cid).state == "ended"
    ledger.record("5xx burst: conversation read + participant PATCH (cancel)", "1 x 503 each")


TIMED_OUT_CALLS = [("/oauth/token", "token"), (INBOUND, "inbound message"),
                   ("/api/v2/conversations/messages/*/inbound/open/receipt", "receipt"),
                   ("/api/v2/notifications/channels", "notifications channel")]


@pytest.mark.parametrize(("path", "what"), TIMED_OUT_CALLS, ids=[w for _, w in TIMED_OUT_CALLS])
async def test_timeouts_are_retried(make_stack: StackFactory, ledger: Ledger, path: str, what: str) -> None:
    stack = await make_stack()
    stack.emu.faults.slow(path, seconds=2.5, times=1)  # longer than request_timeout_seconds = 2
    await stack.say("hello")
    await stack.say("agent")
    cid = await stack.conversation_id()
    await stack.subscribed(cid)
    await stack.emu.agent.accept(cid)
    users, agents = [f"slow {what} user 0", f"slow {what} user 1"], [f"slow {what} agent 0"]
    await run_scenario(stack, ledger, f"timeout: {what}", "1 answer after 2.5 s (timeout 2 s)", cid, users, agents)


async def test_genesys_down_for_a_while(make_stack: StackFactory, ledger: Ledger) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    stack.emu.faults.server_error("/api/*", times=None)
    users = [f"outage user {i}" for i in range(5)]
    for text in users:
        await stack.say(text)
    await asyncio.sleep(1.5)
    stack.emu.faults.clear()
    await run_scenario(stack, ledger, "Genesys down during an active handover", "every API call 503 for 1.5 s",
                       cid, users, ["after the outage"], users_sent=True)
    notices = [e for e in await stack.events() if e.get("source") == "system"]
    assert len(notices) == 1


async def test_token_revoked_mid_handover(make_stack: StackFactory, ledger: Ledger) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    assert stack.emu.faults.revoke_tokens() >= 1
    users, agents = ["after revoke 0", "after revoke 1"], ["agent after revoke"]
    await run_scenario(stack, ledger, "access token revoked mid-handover", "token revoked (401 -> refresh)",
                       cid, users, agents)
    tokens = [r for r in stack.emu.requests if r.path == "/oauth/token"]
    assert len(tokens) == 2


async def test_token_expiry_mid_handover(make_stack: StackFactory, ledger: Ledger) -> None:
    emu = Emulator(EmulatorConfig(webhook_retry_delay=0.05, heartbeat_interval=0.5, token_lifetime=2))
    stack = await make_stack(emulator=emu)
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    users = []
    for i in range(4):
        users.append(f"expiry user {i}")
        await stack.say(users[-1])
        await asyncio.sleep(0.8)
    await run_scenario(stack, ledger, "access token expiring mid-handover", "token lifetime 2 s",
                       cid, users, ["agent after expiry"], users_sent=True)
    assert len([r for r in stack.emu.requests if r.path == "/oauth/token"]) >= 2
    assert not [r for r in stack.emu.requests if r.status == 401]


NOTIFICATION_FAULTS: list[tuple[str, str]] = [
    ("silence", "no heartbeats (watchdog 0.5 s)"),
    ("close", "notifications socket closed"),
    ("closing", "v2.system.socket_closing sent"),
    ("expire", "notifications channel expired"),
    ("drop", "user.end notification dropped"),
    ("transfer", "transfer to another agent"),
]


@pytest.mark.parametrize(("kind", "injected"), NOTIFICATION_FAULTS, ids=[k for k, _ in NOTIFICATION_FAULTS])
async def test_notification_trouble(make_stack: StackFactory, ledger: Ledger, kind: str, injected: str) -> None:
    emulator = Emulator(EmulatorConfig(webhook_retry_delay=0.05, heartbeat_interval=60)) if kind == "silence" else None
    stack = await make_stack(reconcile_interval=0.2 if kind == "drop" else 3600, emulator=emulator,
                             watchdog=0.5 if kind == "silence" else 5)
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    faults: dict[str, Any] = {"close": stack.emu.faults.close_notification_sockets,
                              "closing": stack.emu.faults.socket_closing, "expire": stack.emu.faults.expire_channel}
    if kind in faults:
        assert await faults[kind]() >= 1
    elif kind == "transfer":
        await stack.emu.agent.transfer(cid, "Bob")
        await asyncio.sleep(0.6)  # past the ACW debounce
        assert "completed" not in await stack.handover_statuses()
    users, agents = [f"{kind} user {i}" for i in range(2)], [f"{kind} agent {i}" for i in range(2)]
    await exchange_messages(stack, cid, users, agents)
    await settle(stack, cid, users, agents)
    if kind in faults or kind == "silence":
        await stack.subscribed(cid)
        await _resubscribed_after(stack, cid)
    if kind == "drop":
        stack.emu.faults.drop_notifications(10)
    await stack.emu.agent.end(cid)
    events = await stack.wait_status("completed")
    assert texts(events)[-1] == "Back with the bot."
    counts = await account(stack, cid, users, agents)
    ledger.record(f"notifications: {injected}", injected, user=counts["user"], agent=counts["agent"])
    assert counts["user"][1:] == (0, 0) and counts["agent"][1:] == (0, 0)


async def _resubscribed_after(stack: Stack, cid: str) -> None:
    for _ in range(500):
        subs = [r for r in stack.emu.requests if r.path.endswith("/subscriptions") and r.status == 200]
        channels = [r for r in stack.emu.requests if r.path == "/api/v2/notifications/channels" and r.method == "POST"]
        if len(channels) >= 2 and subs and subs[-1].time >= channels[-1].time and cid in str(subs[-1].json):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not subscribed again on a new channel")
