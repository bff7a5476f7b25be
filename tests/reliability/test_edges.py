"""The edges of a handover: shared integrations, its end, the end debounce, late and long messages."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from extension.flows.session import SessionKey
from extension.providers.genesys_om.state import HandoverState
from extension.testing.clock import ManualClock
from extension.testing.emulator import EmulatorConfig
from extension.testing.emulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_INTEGRATION_ID,
    DEFAULT_WEBHOOK_SECRET,
    QueueConfig,
)

from .ledger import Ledger
from stack import (
    Stack,
    StackFactory,
    agent_message,
    genesys_user_id,
    past_the_debounce,
    post_signed,
    start_handover,
    texts,
)
from support import eventually

INBOUND_MESSAGE = f"/api/v2/conversations/messages/{DEFAULT_INTEGRATION_ID}/inbound/open/message"
TENANTS = ("sales", "billing")


def _shared_integration(count: int, host_marker: str = "{host}") -> str:
    """Connections beyond `support` on the same integration and secret, each with its queue and endpoint."""
    parts = []
    for name in TENANTS[: count - 1]:
        parts.append(f"""
[connections.{name}]
type = "genesysCloudOM"
host = "{host_marker}"
deploymentName = "BotHandover"
queue = "{name.title()}"
webhookSecret = "{DEFAULT_WEBHOOK_SECRET}"
clientId = "{DEFAULT_CLIENT_ID}"
clientSecret = "{DEFAULT_CLIENT_SECRET}"

[[endpoints]]
urlToken = "{name}-bot"
organisation = "acme"
flow = "flow.json"
handover = "{name}"
""")
    return "".join(parts)



async def end_pending(stack: Stack) -> None:
    """Wait until the runtime holds the handover's end while it confirms it (the ACW debounce)."""

    async def pending() -> bool:
        state = await handover_state(stack)
        return state is not None and state.pending_end_at is not None

    await eventually(pending, "the end pending")


async def handover_state(stack: Stack, user: str = "u1") -> HandoverState | None:
    doc = await stack.store.get_session(SessionKey(stack.token, user, "s1").id)
    return HandoverState.from_doc(doc.get("handover") if doc else None)


@pytest.mark.parametrize("connections", [2, 3])
async def test_two_connections_on_one_integration_deliver_to_their_own_session(
        make_stack: StackFactory, connections: int, ledger: Ledger) -> None:
    """Finding 1: the webhook picks the connection that owns the conversation, not the first in the list."""
    from extension.testing.emulator import Emulator

    queues = [QueueConfig(id=f"q-{name}", name=name.title()) for name in ("support", *TENANTS)]
    emu = Emulator(EmulatorConfig(webhook_retry_delay=0.05, heartbeat_interval=0.5, queues=queues))
    await emu.start()
    support = await make_stack(emulator=emu, extra=_shared_integration(connections, emu.base_url or ""))
    for name in ("support", *TENANTS[: connections - 1]):
        tenant = Stack(emu, support.client, token=f"{name}-bot")
        await tenant.say("hello", user=f"user-{name}")
        await tenant.say("I want an agent", user=f"user-{name}")
        [cid] = [c.id for c in emu.agent.waiting()]
        await emu.agent.accept(cid)
        await emu.agent.reply(cid, f"hello from {name}")
        await tenant.wait_for(lambda ev, n=name: f"hello from {n}" in texts(ev, "agent"), user=f"user-{name}")
        receipts = [r.json["status"] for r in emu.requests if r.path.endswith("/inbound/open/receipt")]
        assert "Failed" not in receipts
    ledger.record(f"edges: {connections} connections on one integration",
                  "one deploymentName and secret, a queue each; a handover and an agent reply on each",
                  user=(2 * connections, 0, 0), agent=(connections, 0, 0))


async def test_messages_queued_when_a_handover_ends_are_reported_and_never_sent(make_stack: StackFactory,
                                                                             ledger: Ledger) -> None:
    """Finding 2: with Genesys refusing inbound messages, the agent ends: the user is told which ones
    never reached the agent, and nothing is sent for the ended handover (no new conversation)."""
    clock = ManualClock()
    stack = await make_stack(clock=clock)
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    stack.emu.faults.server_error(INBOUND_MESSAGE, method="POST", times=None, status=503)
    for text in ("first", "second", "third"):
        await stack.say(text)
    await clock.advance(0.1)  # the agent leaves after the messages were queued
    await stack.emu.agent.end(cid)
    await past_the_debounce(stack, cid)
    events = await stack.wait_status("completed")
    notices = [t for t in texts(events, "system") if t and "ended before this message reached them" in t]
    assert [n.split("\u201c")[1].rstrip("\u201d") for n in notices] == ["first", "second", "third"]
    stack.emu.faults.clear()
    await clock.advance(1.0)  # a sender that kept retrying would send now that Genesys answers
    assert len(stack.emu.conversations) == 1
    assert not {"first", "second", "third"} & {m.text for m in stack.emu.inbound_messages()}
    # Not lost unseen: each of the three is named to the user as undelivered, and none sent later.
    ledger.record("edges: the agent ends while Genesys refuses inbound messages",
                  "503 on every inbound message, 3 user messages, then the agent ends: 3 named to the user as "
                  "not delivered, 0 sent after the end, 1 conversation in Genesys", user=(3, 0, 0))


async def test_a_message_during_the_end_debounce_goes_to_the_bot(make_stack: StackFactory, ledger: Ledger) -> None:
    """Finding 3: a user message while the agent's end is being confirmed is held, then answered by the
    bot once the end holds; no second Genesys conversation is opened."""
    clock = ManualClock()
    stack = await make_stack(clock=clock, acw_timeout=2.0)
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    await stack.emu.agent.reply(cid, "bye")
    await stack.wait_for(lambda ev: "bye" in texts(ev, "agent"))
    await stack.emu.agent.end(cid)
    await end_pending(stack)
    await stack.say("are you still there?")
    assert "echo: are you still there?" not in texts(await stack.events(), "bot")  # held
    await past_the_debounce(stack, cid)
    events = await stack.wait_for(lambda ev: "echo: are you still there?" in texts(ev, "bot"))
    bot = texts(events, "bot")
    assert bot.index("Back with the bot.") < bot.index("echo: are you still there?")
    assert len(stack.emu.conversations) == 1
    assert "are you still there?" not in {m.text for m in stack.emu.inbound_messages()}
    ledger.record("edges: a message while the agent's end is confirmed, the end holds",
                  "a user message 0 s after user.end (debounce 2 s): held, answered by the bot after the end; "
                  "no second conversation", user=(1, 0, 0))


async def test_a_late_agent_message_of_a_just_ended_conversation_reaches_the_user(make_stack: StackFactory,
                                                                                 ledger: Ledger) -> None:
    """Finding 3: Genesys retries an agent message after the end (an outage): the user gets it, Delivered."""
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    to_id = await genesys_user_id(stack)
    await stack.emu.agent.end(cid)
    await stack.wait_status("completed")
    status, answer = await post_signed(stack, agent_message(to_id, "one last thing", message_id="m-late"))
    assert (status, answer) == (200, {"status": "delivered"})
    assert "one last thing" in texts(await stack.events(), "agent")
    await eventually(lambda: any(r.path.endswith("/inbound/open/receipt") and r.json["id"] == "m-late"
                            and r.json["status"] == "Delivered" for r in stack.emu.requests), "a Delivered receipt")
    # Another recipient, never a handover of this runtime, still gets a Failed receipt.
    assert await post_signed(stack, agent_message("h-unknown", message_id="m-x")) == (200, {"status": "failed"})
    ledger.record("edges: an agent message retried after the end", "a signed agent message posted after the "
                  "handover completed: delivered to the user, Delivered receipt", agent=(1, 0, 0))


async def test_a_long_user_message_is_split_like_the_transcript(make_stack: StackFactory, ledger: Ledger) -> None:
    """Finding 16: a 9,999-character message (`[server] max_text_chars` raised) reaches Genesys in
    pieces under 4,000 characters, in order, cut by the transcript's rule."""
    from extension import keys
    from extension.sessions import InputLimits

    stack = await make_stack()
    stack.client.app[keys.SESSIONS].limits = InputLimits(max_text_chars=10000)
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    words = " ".join(f"w{n:04d}" for n in range(1667))[:9999]
    await stack.say(words)
    await eventually(lambda: " ".join(m.text or "" for m in stack.emu.inbound_messages(cid)).endswith(words[-20:]),
                "every piece sent")
    pieces = [m.text or "" for m in stack.emu.inbound_messages(cid)][-3:]
    assert all(len(p) <= 4000 for p in pieces)
    assert " ".join(pieces) == words
    ledger.record("edges: a 9,999-character user message", "max_text_chars 10000, during a handover: "
                  f"{len(pieces)} inbound messages of at most 4,000 characters, in order", user=(1, 0, 0))


async def test_typing_does_not_hold_the_next_message(make_stack: StackFactory, ledger: Ledger) -> None:
    """Finding 14: Genesys hangs on typing events; the socket's next message is still acknowledged."""
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    test_over = asyncio.Event()

    async def hang(seconds: float) -> None:
        """Up to `seconds`, and no longer than the test: the stack then stops without waiting it out."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(test_over.wait(), seconds)

    stack.emu.faults.sleep = hang
    stack.emu.faults.slow(f"/api/v2/conversations/messages/{DEFAULT_INTEGRATION_ID}/inbound/open/event",
                          seconds=30, method="POST")
    ws = await stack.client.ws_connect("/support-bot/socket", params={"userId": "u1", "sessionId": "s1"})
    try:
        await ws.send_json({"type": "typing"})
        await ws.send_json({"type": "message", "text": "right after typing", "id": "f-1"})
        while True:
            frame = await ws.receive_json(timeout=10)  # far under the 30 s the typing event hangs
            if frame.get("type") == "ack":
                assert frame["id"] == "f-1"
                break
        typing = await eventually(lambda: [r for r in stack.emu.requests if r.path.endswith("/inbound/open/event")],
                                  "the typing event sent")
        assert typing[0].status is None  # still hanging in Genesys
    finally:
        test_over.set()
    await ws.close()
    ledger.record("edges: Genesys hangs on typing events", "typing event answered after 30 s: the socket's next "
                  "message acknowledged at once", user=(1, 0, 0))


async def test_a_message_during_the_end_debounce_goes_to_a_new_agent_who_joins(make_stack: StackFactory,
                                                                              ledger: Ledger) -> None:
    """Finding 3, the other way: the agent leaves, a second agent joins the same conversation while
    the end is being confirmed; the held message reaches Genesys there, once, and the flow never
    resumes (no "Back with the bot", no second conversation)."""
    clock = ManualClock()
    stack = await make_stack(clock=clock, acw_timeout=3.0)
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    await stack.wait_status("active")
    router = stack.emu.router
    conversation = router.open_conversation(cid)
    anna = next(p for p in conversation.participants if p.purpose == "agent" and p.state == "connected")
    anna.disconnect(time.time(), "client")  # Anna leaves; Genesys has not ended the conversation
    await router.emit(conversation, "user.end", anna, "CLIENT")
    await end_pending(stack)
    await stack.say("hello, anyone?")
    assert "hello, anyone?" not in {m.text for m in stack.emu.inbound_messages()}  # held, not sent
    bob = router.join(conversation, "Bob", time.time())
    await router.emit(conversation, "user.start", bob)
    await eventually(lambda: "hello, anyone?" in [m.text for m in stack.emu.inbound_messages(cid)],
                     "the held message sent")
    await clock.advance(3.5)  # past the debounce: the end must not hold now
    state = await handover_state(stack)
    assert state is not None and state.pending_end_at is None
    events = await stack.events()
    assert "Back with the bot." not in texts(events, "bot") and "echo: hello, anyone?" not in texts(events, "bot")
    assert [m.text for m in stack.emu.inbound_messages(cid)].count("hello, anyone?") == 1
    assert len(stack.emu.conversations) == 1
    ledger.record("edges: a message while the agent's end is confirmed, a new agent joins",
                  "user.end CLIENT, a user message, then user.start of a second agent (debounce 3 s): sent to "
                  "the conversation once, the flow not resumed", user=(1, 0, 0))
