"""Send budgets: a session, and a connection, may send only so many messages a minute to Genesys."""

from __future__ import annotations

import asyncio

import pytest

from extension.flows.session import SessionKey
from extension.providers.genesys_om.budget import Bucket, OverBudget, SendBudgets

from stack import Stack, StackFactory, start_handover


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_over_its_budget_waits_for_the_bucket_to_refill() -> None:
    clock = Clock()
    budgets = SendBudgets(3, 100, clock=clock)
    session = budgets.session_bucket(None, 0.0)
    for _ in range(3):
        budgets.spend(session, "support", 1)
    with pytest.raises(OverBudget) as refused:
        budgets.spend(session, "support", 1)
    assert refused.value.retry_after == 20  # one token every 20 s at 3 a minute
    clock.now += 20
    budgets.spend(session, "support", 1)


def test_a_refusal_spends_nothing_and_the_connection_budget_is_shared() -> None:
    clock = Clock()
    budgets = SendBudgets(3, 4, clock=clock)
    first, second = budgets.session_bucket(None, 0.0), budgets.session_bucket(None, 0.0)
    for _ in range(3):
        budgets.spend(first, "support", 1)
    budgets.spend(second, "support", 1)
    before = (second.tokens, second.at)
    with pytest.raises(OverBudget):
        budgets.spend(second, "support", 1)  # the session has tokens, its connection has none
    assert (second.tokens, second.at) == before
    budgets.spend(budgets.session_bucket(None, 0.0), "sales", 1)  # another connection's own budget


def test_a_message_larger_than_the_bucket_needs_a_full_bucket() -> None:
    bucket = Bucket(3)
    assert bucket.wait(10, 0.0) == 0
    bucket.take(10, 0.0)
    assert bucket.level(0.0) == 0 and bucket.wait(10, 0.0) == 60


async def inbound_texts(stack: Stack, cid: str, count: int, within: float = 10.0) -> list[str]:
    """The user messages Genesys received after the transcript, once `count` of them arrived."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        sent = [m.text or "" for m in stack.emu.inbound_messages(cid) if not (m.text or "").startswith("Conversation")]
        if len(sent) >= count or loop.time() > deadline:
            return sent
        await asyncio.sleep(0.02)


async def test_a_user_over_the_session_budget_gets_429_and_nothing_is_sent(make_stack: StackFactory) -> None:
    stack = await make_stack(extra="session_messages_per_minute = 3\n")
    cid = await start_handover(stack)
    for i in range(3):
        await stack.say(f"message {i}")
    resp = await stack.client.post("/support-bot", json={"userId": "u1", "sessionId": "s1", "text": "one too many"})
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "20"
    assert "wait 20 seconds" in (await resp.json())["error"]
    async with stack.client.ws_connect("/support-bot/socket", params={"userId": "u1", "sessionId": "s1"}) as ws:
        await ws.send_json({"type": "message", "text": "still too many", "id": "f-1"})
        while (frame := await ws.receive_json(timeout=10))["type"] != "error":
            pass
        assert frame["id"] == "f-1" and "wait" in frame["error"]
    assert await inbound_texts(stack, cid, 3) == ["message 0", "message 1", "message 2"]
    session = await stack.sessions.load_session(SessionKey("support-bot", "u1", "s1"))
    assert not any("too many" in str(e.get("text")) for e in session.transcript)


async def test_the_connection_budget_is_shared_by_its_sessions(make_stack: StackFactory) -> None:
    stack = await make_stack(extra="session_messages_per_minute = 5\nconnection_messages_per_minute = 4\n")
    first = await start_handover(stack, user="u1")
    await start_handover(stack, user="u2")
    for i in range(3):
        await stack.say(f"u1 says {i}", user="u1")
    await stack.say("u2 says 0", user="u2")
    resp = await stack.client.post("/support-bot", json={"userId": "u2", "sessionId": "s1", "text": "u2 says 1"})
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
    assert await inbound_texts(stack, first, 3) == ["u1 says 0", "u1 says 1", "u1 says 2"]
