"""Messages during a handover: stable ids across retries, a long transcript, the agent's reply on a long-poll."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from extension.testing.clock import ManualClock

from stack import Stack, StackFactory, start_handover, texts, wait_inbound
from support import eventually_advancing

INBOUND_MESSAGE = "/api/v2/conversations/messages/*/inbound/open/message"
TIME_PREFIX = re.compile(r"^\[\d\d:\d\d\] ")


def requests_for(stack: Stack, text: str) -> list[tuple[str, int | None]]:
    """(channel.messageId, answered status) of every inbound message request carrying `text`."""
    return [(r.json["channel"]["messageId"], r.status) for r in stack.emu.requests.matching(INBOUND_MESSAGE, "POST")
            if r.json and r.json.get("text") == text]




# Two failures stay inside one call's retries; five outlast them (3 attempts), so the stored
# outbox sends the same message again later.
@pytest.mark.parametrize("failures", [2, 5])
async def test_message_id_is_stable_across_retries(make_stack: StackFactory, failures: int) -> None:
    clock = ManualClock()  # the retries' pauses pass as the test advances it
    stack = await make_stack(clock=clock)
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    stack.emu.faults.server_error(path=INBOUND_MESSAGE, status=503, times=failures)
    await stack.say("please retry me")
    await eventually_advancing(clock, lambda: "please retry me" in [m.text for m in stack.emu.inbound_messages(cid)],
                               "the message accepted after its retries")
    await stack.say("and then me")
    await wait_inbound(stack, cid, ["please retry me", "and then me"])

    attempts = requests_for(stack, "please retry me")
    assert [status for _, status in attempts] == [503] * failures + [200]
    assert len({message_id for message_id, _ in attempts}) == 1
    accepted = [m for m in stack.emu.inbound_messages(cid) if m.text == "please retry me"]
    assert len(accepted) == 1 and accepted[0].message_id == attempts[0][0] and not accepted[0].duplicate
    # The next message is a new message: a new id.
    assert requests_for(stack, "and then me")[0][0] != attempts[0][0]
    assert "Your last message could not be delivered to the agent." not in texts(await stack.events())


async def test_long_transcript_arrives_in_order_in_messages_under_4000(make_stack: StackFactory) -> None:
    stack = await make_stack()
    said = ["hello"] + [f"part {i} " + "abcdefghij" * 150 for i in range(5)]
    for text in said:
        await stack.say(text)
    cid = await start_handover_after(stack, "I want an agent")

    parts = [m.text or "" for m in stack.emu.inbound_messages(cid)]
    assert len(parts) >= 3
    assert all(len(p) <= 4000 for p in parts)
    lines = "\n".join(parts).split("\n")
    assert lines[0] == "Conversation with the bot so far:"
    expected = ["Customer: hello", "Bot: Hi, I am the bot."]
    for text in said[1:]:
        expected += [f"Customer: {text}", f"Bot: echo: {text}"]
    expected.append("Customer: I want an agent")
    assert [TIME_PREFIX.sub("", line) for line in lines[1:]] == expected
    assert all(TIME_PREFIX.match(line) for line in lines[1:])


async def start_handover_after(stack: Stack, text: str) -> str:
    """Ask for an agent after a conversation already under way; the subscribed conversation id."""
    answer = await stack.say(text)
    assert answer["outputStack"][0]["text"] == "You are being connected to an agent."
    cid = await stack.conversation_id()
    await stack.subscribed(cid)
    return cid


async def test_agent_reply_ends_a_waiting_long_poll(make_stack: StackFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    from extension import keys

    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    events = await stack.wait_status("active")
    after = events[-1]["seq"]
    store = stack.client.app[keys.STORE]
    read_events = store.read_events
    parked = asyncio.Event()

    async def watched(key: str, after: int = 0, **kw: Any) -> list[dict[str, Any]]:
        if kw.get("wait"):
            parked.set()
        return list(await read_events(key, after, **kw))

    monkeypatch.setattr(store, "read_events", watched)
    poll = asyncio.create_task(stack.client.get(
        "/support-bot/events", params={"userId": "u1", "sessionId": "s1", "after": str(after), "wait": "5"}))
    await asyncio.wait_for(parked.wait(), timeout=10)
    await asyncio.sleep(0)
    assert not poll.done()  # nothing new yet: the long-poll waits

    await stack.emu.agent.reply(cid, "Anna on the long-poll")
    resp = await poll
    assert resp.status == 200
    body = await resp.json()
    agent = [e for e in body["events"] if e["type"] == "output"]
    assert [(e["source"], e["text"]) for e in agent] == [("agent", "Anna on the long-poll")]
    assert body["events"][0]["seq"] == after + 1 and body["next"] == body["events"][-1]["seq"]
