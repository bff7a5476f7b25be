"""One replica on the Redis store: a whole handover, a restart with the state kept in Redis, typing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from redis_server import delete_prefix, new_prefix, redis_url, require_redis
from stack import Stack, StackFactory, texts
from support import eventually


@pytest.fixture
async def store_url() -> AsyncIterator[str]:
    require_redis()
    prefix = new_prefix()
    yield redis_url(prefix, lock_seconds=2)
    await delete_prefix(prefix)


async def start(stack: Stack) -> str:
    await stack.say("hello")
    assert (await stack.say("agent"))["outputStack"][0]["text"] == "You are being connected to an agent."
    cid = await stack.conversation_id()
    await stack.subscribed(cid)
    return cid


# `store_url` before `make_stack` in every test: its clean-up then runs after the runtimes (which
# write to Redis until they stop) are closed.
async def test_a_handover_on_redis_from_start_to_end(store_url: str, make_stack: StackFactory) -> None:
    stack = await make_stack(store=store_url)
    cid = await start(stack)
    await stack.emu.agent.accept(cid)
    await stack.emu.agent.reply(cid, "Hi, this is Anna.")
    await stack.wait_for(lambda ev: "Hi, this is Anna." in texts(ev, "agent"))
    for text in ("one", "two", "three"):
        assert (await stack.say(text))["outputStack"] == []
    await eventually(lambda: [m.text for m in stack.emu.inbound_messages(cid)][-3:] == ["one", "two", "three"],
                "the user's messages reached Genesys in order")
    # The typing limit is a claim in Redis: one event for two keystrokes in a row.
    async with stack.client.ws_connect("/support-bot/socket?userId=u1&sessionId=s1") as ws:
        await ws.send_json({"type": "typing"})
        await ws.send_json({"type": "typing"})
        await ws.send_json({"type": "message", "text": "four"})
        await eventually(lambda: "four" in [m.text for m in stack.emu.inbound_messages(cid)],
                         "the socket message arrived")
    assert len([r for r in stack.emu.requests if r.path.endswith("/inbound/open/event")]) == 1
    await stack.emu.agent.end(cid)
    events = await stack.wait_status("completed")
    assert texts(events)[-1] == "Back with the bot."
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


async def test_a_new_replica_picks_the_handover_up_from_redis(store_url: str, make_stack: StackFactory) -> None:
    first = await make_stack(store=store_url)
    cid = await start(first)
    await first.client.close()  # a clean stop releases the leases at once
    second = await make_stack(store=store_url, emulator=first.emu)
    # The new process subscribes the handover it finds in Redis and sees the agent's end.
    # Within 5 s although leases last 10 s here: the first replica released them when it stopped.
    await eventually(lambda: _live_channels(second, cid) == 1, "the new replica subscribed the conversation", within=5)
    await second.emu.agent.accept(cid)
    await second.emu.agent.reply(cid, "Still here.")
    await second.wait_for(lambda ev: "Still here." in texts(ev, "agent"))
    await second.emu.agent.end(cid)
    assert texts(await second.wait_status("completed"))[-1] == "Back with the bot."


def _live_channels(stack: Stack, cid: str) -> int:
    from extension.genesys.notifications_topics import conversation_topics

    return len([c for c in stack.emu.notifications.subscribers(conversation_topics(cid)[0]) if c.connected])
