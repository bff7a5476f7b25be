"""The start of a handover against messages Genesys sends while the transcript is still going out."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from extension.flows.session import SessionKey
from extension.providers.genesys_om.start_intents import StartIntent
from extension.providers.genesys_om.state import BY_USER, STARTING
from extension.testing.emulator.state import Conversation
from handover.helpers import LONG, hold_inbound, when_created

from stack import StackFactory, texts


@pytest.mark.parametrize("sender", ["bot", "agent"])
async def test_a_message_while_the_transcript_is_sent_reaches_the_user(make_stack: StackFactory,
                                                                      sender: str) -> None:
    stack = await make_stack()
    looked = stack.spy_user_lookups()

    async def early(conversation: Conversation) -> None:
        if sender == "bot":
            await stack.emu.agent.flow_message(conversation.id, "Connected", wait=False)
        else:
            await stack.emu.agent.accept(conversation.id)
            await stack.emu.agent.reply(conversation.id, "Hi, Anna here.", wait=False)

    tasks: list[asyncio.Task[None]] = []

    def created(conversation: Conversation) -> None:
        tasks.append(asyncio.get_running_loop().create_task(early(conversation)))
        hold_inbound(stack, looked.wait)

    when_created(stack, created)
    await stack.say(LONG)
    await stack.say("agent please")
    await asyncio.gather(*tasks)
    cid = await stack.conversation_id()
    assert len(stack.emu.inbound_messages(cid)) > 1  # the message came while the transcript was sent
    expected = ("Connected", "system") if sender == "bot" else ("Hi, Anna here.", "agent")
    events = await stack.wait_for(lambda ev: expected[0] in texts(ev, expected[1]))
    await stack.emu.settle()
    receipts = [r.json for r in stack.emu.requests if r.path.endswith("/inbound/open/receipt")]
    assert [r["status"] for r in receipts] == ["Delivered"]
    statuses = [e["status"] for e in events if e["type"] == "handover"]
    assert statuses == (["queue"] if sender == "bot" else ["queue", "active"])


async def test_the_start_is_on_record_while_genesys_is_called(make_stack: StackFactory) -> None:
    stack = await make_stack()
    store = stack.store
    seen: dict[str, Any] = {}

    def created(conversation: Conversation) -> None:
        seen["conversation"], seen["user_id"] = conversation.id, conversation.customer_id
        hold_inbound(stack, record)

    async def record() -> None:
        # The transcript is held here: the conversation exists, the start is not committed yet.
        seen["session"] = await store.index_get(BY_USER, seen["user_id"])
        seen["intent"] = StartIntent.decode(await store.index_get(STARTING, seen["user_id"]) or "")

    when_created(stack, created)
    await stack.say(LONG)
    await stack.say("agent please")
    key = SessionKey("support-bot", "u1", "s1").id
    assert seen["session"] == key
    assert seen["intent"] == StartIntent("support", key, seen["intent"].at, seen["conversation"])
    # Once committed, the intent is gone and the user id still maps to the session.
    assert await store.index_items(STARTING) == {}
    assert await store.index_items(BY_USER) == {seen["user_id"]: key}
