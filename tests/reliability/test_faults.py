"""Genesys misbehaving: 429 storms, 5xx and timeouts on every call, outages, token trouble, notifications."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from extension.genesys import GenesysRateLimited
from extension.testing.clock import ManualClock
from extension.testing.emulator import Emulator, EmulatorConfig
from extension.testing.emulator.faults import Rule

from .helpers import changed_setting
from .ledger import Ledger
from stack import Stack, StackFactory, start_handover, texts
from support import eventually, while_advancing

T = TypeVar("T")

INBOUND = "/api/v2/conversations/messages/*/inbound/open/message"


async def exchange_messages(stack: Stack, cid: str, users: list[str], agents: list[str]) -> None:
    """Send user and agent messages alternately (the agent needs to be connected)."""
    for i in range(max(len(users), len(agents))):
        if i < len(users):
            await stack.say(users[i])
        if i < len(agents):
            await stack.emu.agent.reply(cid, agents[i], wait=False)


async def settle(stack: Stack, cid: str, users: list[str], agents: list[str], within: float = 15.0) -> None:
    """Wait until every message arrived (bounded, not asserted: the counts say what is missing)."""

    async def arrived() -> bool:
        got_users = {m.text for m in stack.emu.inbound_messages(cid)}
        got_agents = set(texts(await stack.events(), "agent"))
        return set(users) <= got_users and set(agents) <= got_agents

    with contextlib.suppress(AssertionError):
        await eventually(arrived, "every message arrived", within)
    await asyncio.sleep(0.1)  # a short look for a duplicate: one would arrive now, if there were one


async def account(stack: Stack, cid: str, users: list[str], agents: list[str],
                  user: str = "u1") -> dict[str, tuple[int, int, int]]:
    """(sent, lost, doubled) each way; user messages resent with the same messageId count once."""
    inbound = [m for m in stack.emu.inbound_messages(cid) if m.text in users]
    by_text: dict[str, set[str]] = {}
    for m in inbound:
        by_text.setdefault(m.text or "", set()).add(m.message_id or "")
    user_lost = sum(1 for u in users if u not in by_text)
    user_doubled = sum(len(ids) - 1 for ids in by_text.values())
    agent_counts = Counter(t for t in texts(await stack.events(user), "agent") if t in agents)
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
    # Retry-After is waited out on the runtime's clock, which the emulator shares: the test moves it on.
    clock = ManualClock(settle=0.5)
    stack = await make_stack(emulator=Emulator(EmulatorConfig(webhook_retry_delay=0.05, heartbeat_interval=0.5),
                                               clock=clock.time), clock=clock)
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    rule = stack.emu.faults.rate_limit(INBOUND, times=3, retry_after=1)
    users, agents = [f"storm user {i}" for i in range(4)], [f"storm agent {i}" for i in range(4)]
    await while_advancing(clock, run_scenario(stack, ledger, "429 storm on inbound messages",
                                              "3 x 429 with Retry-After: 1", cid, users, agents), step=0.1)
    assert rule.hits == 3
    calls = [r for r in stack.emu.requests if r.path.endswith("/inbound/open/message") and r.time]
    limited = [r for r in calls if r.status == 429]
    assert len(limited) == 3
    for answer in limited:
        following = [r for r in calls if r.time > answer.time]
        assert following, "nothing was sent after the 429"
        # Retry-After is whole seconds: nothing may come back before it expires.
        assert following[0].time - answer.time >= 1.0 - 0.01


@dataclass
class Attempt:
    """One request the runtime's Genesys client sent, as the client saw it (wall clock)."""

    path: str
    started: float
    ended: float = 0.0
    rate_limited: bool = False


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> list[Attempt]:
    """Every API request the runtime starts, with when it started and when its answer came."""
    from extension.genesys import client as client_module

    seen: list[Attempt] = []
    real = client_module.exchange

    async def spy(session: Any, method: str, url: str, **kwargs: Any) -> Any:
        attempt = Attempt(kwargs["path"], time.time())
        seen.append(attempt)
        try:
            return await real(session, method, url, **kwargs)
        except GenesysRateLimited:
            attempt.rate_limited = True
            raise
        finally:
            attempt.ended = time.time()

    monkeypatch.setattr(client_module, "exchange", spy)
    return seen


async def test_a_429_holds_every_session_and_receipt_until_retry_after(
        make_stack: StackFactory, ledger: Ledger, attempts: list[Attempt]) -> None:
    stack = await make_stack()
    sessions = {}
    for user in ("u1", "u2", "u3"):
        await stack.say("hello", user=user)
        await stack.say("agent", user=user)
        sessions[user] = stack.emu.agent.waiting()[0].id  # the others were accepted already
        await stack.subscribed(sessions[user])
        await stack.emu.agent.accept(sessions[user])
    retry_after = 1
    rule = stack.emu.faults.rate_limit("/api/*", times=3, retry_after=retry_after)
    users = {u: [f"{u} storm {i}" for i in range(3)] for u in sessions}
    agents = {u: [f"agent to {u} {i}" for i in range(2)] for u in sessions}

    async def talk(user: str) -> None:
        for i, text in enumerate(users[user]):
            await stack.say(text, user=user)
            if i < len(agents[user]):
                await stack.emu.agent.reply(sessions[user], agents[user][i], wait=False)

    await asyncio.gather(*(talk(u) for u in sessions))

    async def arrived() -> bool:
        shown = {u: set(texts(await stack.events(u), "agent")) for u in sessions}
        return all(set(users[u]) <= {m.text for m in stack.emu.inbound_messages(sessions[u])}
                   and set(agents[u]) <= shown[u] for u in sessions)

    with contextlib.suppress(AssertionError):  # bounded, not asserted: the counts below say what is missing
        await eventually(arrived, "every message arrived", within=20)
    await asyncio.sleep(0.1)  # a short look for a duplicate: one would arrive now, if there were one
    assert rule.hits == 3
    api = [r for r in stack.emu.requests if r.path.startswith("/api/")]
    assert any(r.path.endswith("/inbound/open/receipt") for r in api)  # receipts were in the storm
    limited = [r for r in api if r.status == 429]
    answered = [a for a in attempts if a.rate_limited]
    assert len(limited) == len(answered) == 3
    for record, seen in zip(limited, answered, strict=True):
        expires = record.time + retry_after
        # Once the runtime knew of the 429, none of its calls may start before Retry-After expires.
        early = [a for a in attempts if seen.ended <= a.started < expires]
        assert not early, early
        # At the emulator, only requests already on their way when the 429 came back may arrive
        # before it expires.
        in_flight = [a for a in attempts if a.started < seen.ended and a.ended > record.time and a is not seen]
        arrived = [r for r in api if record.time < r.time < expires]
        assert len(arrived) <= len(in_flight), (arrived, in_flight)
    sent = lost = doubled = agent_sent = agent_lost = agent_doubled = 0
    for user, cid in sessions.items():
        counts = await account(stack, cid, users[user], agents[user], user)
        assert in_order(stack, cid, users[user])
        sent, lost, doubled = (a + b for a, b in zip((sent, lost, doubled), counts["user"], strict=True))
        agent_sent, agent_lost, agent_doubled = (
            a + b for a, b in zip((agent_sent, agent_lost, agent_doubled), counts["agent"], strict=True))
    ledger.record("429 storm across 3 sessions and receipts", "3 x 429 with Retry-After: 1 on any API call",
                  user=(sent, lost, doubled), agent=(agent_sent, agent_lost, agent_doubled))
    assert (lost, doubled, agent_lost, agent_doubled) == (0, 0, 0, 0)


RECEIPT = "/api/v2/conversations/messages/*/inbound/open/receipt"
EVENT = "/api/v2/conversations/messages/*/inbound/open/event"
SUBSCRIPTIONS = "/api/v2/notifications/channels/*/subscriptions"
CONVERSATION = "/api/v2/conversations/messages/*"
PARTICIPANT = "/api/v2/conversations/messages/*/participants/*"

# (what, the calls faulted as (path glob, method), the scenario that makes the runtime send them)
GENESYS_CALLS: list[tuple[str, list[tuple[str, str | None]], str]] = [
    ("token", [("/oauth/token", None)], "handover"),
    ("integrations", [("/api/v2/conversations/messaging/integrations/open", "GET")], "handover"),
    ("queues", [("/api/v2/routing/queues", "GET")], "handover"),
    ("inbound message", [(INBOUND, "POST")], "handover"),
    ("receipt", [(RECEIPT, "POST")], "handover"),
    ("notifications channel", [("/api/v2/notifications/channels", "POST")], "handover"),
    ("subscriptions replace (PUT)", [(SUBSCRIPTIONS, "PUT")], "handover"),
    ("subscriptions add (POST)", [(SUBSCRIPTIONS, "POST")], "second handover"),
    ("conversation read (reconciler)", [(CONVERSATION, "GET")], "reconciler"),
    ("conversation read + participant PATCH (cancel)", [(CONVERSATION, "GET"), (PARTICIPANT, "PATCH")], "cancel"),
    ("typing event", [(EVENT, "POST")], "typing"),
]
FAULTS = {"5xx burst": ("2 x 503", 2), "timeout": ("1 answer after 0.7 s (timeout 0.5 s)", 1)}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize(("what", "calls", "scenario"), GENESYS_CALLS, ids=[w for w, _, _ in GENESYS_CALLS])
async def test_5xx_and_timeouts_on_every_call(make_stack: StackFactory, ledger: Ledger, monkeypatch: pytest.MonkeyPatch,
                                              fault: str, what: str, calls: list[tuple[str, str | None]],
                                              scenario: str) -> None:
    injected, times = FAULTS[fault]
    if fault == "timeout":
        # A request timeout of 0.5 s (2 s in the shared settings), and a timed-out try plus a retry fit
        # the call's budget.
        monkeypatch.setattr("stack.HANDOVER_SETTINGS", changed_setting(
            "retry_total_seconds = 3.0", "retry_total_seconds = 4.0").replace(
            "request_timeout_seconds = 2.0", "request_timeout_seconds = 0.5"))
    # A burst's retry pauses run on the runtime's clock, moved on while the scenario runs. A timeout
    # stays in real time: the request timeout is the socket's, and the retry budget must outlast it.
    clock = ManualClock(settle=0.5) if fault == "5xx burst" else None
    stack = await make_stack(reconcile_interval=0.2 if scenario == "reconciler" else 3600,
                             **({"clock": clock} if clock else {}))
    rules: list[Rule] = []

    async def run() -> None:
        def arm() -> None:
            for path, method in calls:
                if fault == "timeout":
                    rules.append(stack.emu.faults.slow(path, seconds=0.7, method=method, times=times))
                else:
                    rules.append(stack.emu.faults.server_error(path, method=method, times=times, status=503))

        name = f"{fault}: {what}"
        users, agents = [f"{what} user {i}" for i in range(3)], [f"{what} agent {i}" for i in range(3)]
        if scenario in ("handover", "second handover"):
            if scenario == "second handover":
                await start_handover(stack, user="u0")  # the channel exists: the next handover adds topics
            else:
                arm()
            await stack.say("hello")
            if scenario == "second handover":
                arm()
            await stack.say("agent")
            cid = await stack.conversation_id()
            await stack.subscribed(cid)
            await stack.emu.agent.accept(cid)
            await run_scenario(stack, ledger, name, injected, cid, users, agents)
            await stack.emu.agent.end(cid)
            await stack.wait_status("completed")
        elif scenario == "reconciler":
            cid = await start_handover(stack)
            await stack.emu.agent.accept(cid)
            arm()
            await eventually(lambda: all(r.hits == times for r in rules))
            # The end notification is lost: only a reconciler read that got through can end it.
            stack.emu.faults.drop_notifications(10)
            await stack.emu.agent.end(cid)
            events = await stack.wait_status("completed")
            assert texts(events)[-1] == "Back with the bot."
            ledger.record(name, injected + ", then user.end dropped")
        elif scenario == "cancel":
            cid = await start_handover(stack)
            arm()
            answer = await stack.say("cancel")
            assert answer["outputStack"][-1]["text"] == "Handover cancelled."
            assert stack.emu.agent.get(cid).state == "ended"
            ledger.record(name, injected + " each")
        else:
            cid = await start_handover(stack)
            arm()
            ws = await stack.client.ws_connect("/support-bot/socket", params={"userId": "u1", "sessionId": "s1"})
            await ws.send_json({"type": "typing"})
            # Typing is sent in the background: the faulted tries, then one that got through (a timed-out
            # try is answered 200 late, so the count, not the first 200, says the retries are over).
            await eventually(lambda: len(stack.emu.requests.matching(EVENT)) == times + 1
                         and stack.emu.requests.matching(EVENT)[-1].status == 200)
            sent = [r for r in stack.emu.requests.matching(EVENT) if r.status == 200]
            await ws.close()
            assert sent[0].json["events"] == [{"eventType": "Typing"}]
            assert len(stack.emu.requests.matching(EVENT)) == times + 1  # the faulted tries, then one that got through
            ledger.record(name, injected)

    await (while_advancing(clock, run(), step=0.1, within=30.0) if clock else run())
    # The fault was really met, as often as injected (a glob that stopped matching fails here).
    assert [r.hits for r in rules] == [times] * len(calls)



async def test_genesys_down_for_a_while(make_stack: StackFactory, ledger: Ledger) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    rule = stack.emu.faults.server_error("/api/*", times=None)
    users = [f"outage user {i}" for i in range(5)]
    for text in users:
        await stack.say(text)

    async def noticed() -> bool:
        return any(e.get("source") == "system" for e in await stack.events())

    # Down until the first try and a retry met the outage and the user was told of the delay.
    await eventually(lambda: rule.hits >= 2, "a retry met the outage")
    await eventually(noticed, "the delayed-delivery notice")
    stack.emu.faults.clear()
    await run_scenario(stack, ledger, "Genesys down during an active handover",
                       "every API call 503 until a retry met it and the delay notice showed",
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
    # The token's lifetime and the runtime's refresh run on one clock, which the test moves on.
    clock = ManualClock()
    emu = Emulator(EmulatorConfig(webhook_retry_delay=0.05, heartbeat_interval=0.5, token_lifetime=2),
                   clock=clock.time)
    stack = await make_stack(emulator=emu, clock=clock)
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    users = []
    for i in range(4):
        users.append(f"expiry user {i}")
        await stack.say(users[-1])
        await clock.advance(0.8)
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
        # A look that proves the transfer does not end the handover: past the 0.3 s ACW debounce.
        await asyncio.sleep(0.45)
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
    if kind == "drop":
        assert stack.emu.notifications.drops_pending < 10  # the end's notifications really were lost
    assert texts(events)[-1] == "Back with the bot."
    counts = await account(stack, cid, users, agents)
    ledger.record(f"notifications: {injected}", injected, user=counts["user"], agent=counts["agent"])
    assert counts["user"][1:] == (0, 0) and counts["agent"][1:] == (0, 0)


async def _resubscribed_after(stack: Stack, cid: str) -> None:
    def resubscribed() -> bool:
        subs = [r for r in stack.emu.requests if r.path.endswith("/subscriptions") and r.status == 200]
        channels = [r for r in stack.emu.requests if r.path == "/api/v2/notifications/channels" and r.method == "POST"]
        return len(channels) >= 2 and bool(subs) and subs[-1].time >= channels[-1].time and cid in str(subs[-1].json)

    await eventually(resubscribed, "subscribed again on a new channel")
