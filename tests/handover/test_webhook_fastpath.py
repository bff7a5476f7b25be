"""A webhook for a free session is delivered inline; a busy one still waits, then is stored."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from extension.flows.session import SessionKey
from extension.genesys.signature import sign
from extension.providers.genesys_om.webhook import INBOX
from extension.testing.emulator.config import DEFAULT_WEBHOOK_SECRET

from stack import WEBHOOK_URL as URL
from stack import Stack, StackFactory, agent_message, genesys_user_id, post_signed, start_handover, texts
from support import eventually

KEY = SessionKey("support-bot", "u1", "s1").id


async def delivered_receipts(stack: Stack, message_id: str) -> list[Any]:
    found: list[Any] = await eventually(
        lambda: [r for r in stack.emu.requests if r.path.endswith("/inbound/open/receipt")
                 and r.json["id"] == message_id and r.json["status"] == "Delivered"],
        f"a Delivered receipt for {message_id}")
    return found


async def test_a_free_session_is_delivered_without_a_delivery_task(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    to_id = await genesys_user_id(stack)
    spawned = stack.spy_spawns()
    assert await post_signed(stack, agent_message(to_id, "inline", message_id="m-inline")) == (
        200, {"status": "delivered"})
    assert "webhook-delivery" not in spawned
    assert texts(await stack.events(), "agent") == ["inline"]
    [receipt] = await delivered_receipts(stack, "m-inline")
    assert receipt.json["channel"]["to"]["id"] == to_id
    assert await stack.store.index_items(INBOX) == {}
    # The dedup holds on the inline path too.
    assert await post_signed(stack, agent_message(to_id, "inline", message_id="m-inline")) == (
        200, {"status": "duplicate"})
    assert texts(await stack.events(), "agent") == ["inline"]


async def test_the_answer_is_json_as_before(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    raw = json.dumps(agent_message(await genesys_user_id(stack), "bytes", message_id="m-bytes")).encode()
    resp = await stack.client.post(URL, data=raw, headers={"Content-Type": "application/json",
                                                           "X-Hub-Signature-256": sign(DEFAULT_WEBHOOK_SECRET, raw)})
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert await resp.read() == b'{"status": "delivered"}'


async def test_an_unknown_recipient_is_answered_inline(make_stack: StackFactory) -> None:
    stack = await make_stack()
    await start_handover(stack)
    spawned = stack.spy_spawns()
    assert await post_signed(stack, agent_message("h-nobody", message_id="m-nobody")) == (200, {"status": "failed"})
    assert "webhook-delivery" not in spawned
    assert "receipt-Failed" in spawned


async def test_a_held_session_still_gets_the_waited_then_stored_path(make_stack: StackFactory) -> None:
    stack = await make_stack(extra="webhook_wait_seconds = 0.1\n")
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    to_id = await genesys_user_id(stack)
    spawned = stack.spy_spawns()
    async with stack.store.lock(KEY):
        assert await post_signed(stack, agent_message(to_id, "busy", message_id="m-busy")) == (
            200, {"status": "accepted"})
        assert "webhook-delivery" in spawned
        stored = await stack.store.index_items(INBOX)
        assert json.loads(stored["support:m-busy"])["body"]["text"] == "busy"
    await stack.wait_for(lambda ev: "busy" in texts(ev, "agent"))
    await delivered_receipts(stack, "m-busy")


async def test_a_session_freed_within_the_wait_is_delivered_not_stored(make_stack: StackFactory) -> None:
    stack = await make_stack(extra="webhook_wait_seconds = 9\n")
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    to_id = await genesys_user_id(stack)
    store = stack.store
    held = asyncio.Event()

    async def hold_briefly() -> None:
        async with store.lock(KEY):
            held.set()
            await asyncio.sleep(0.05)

    holder = asyncio.create_task(hold_briefly())
    await held.wait()
    assert await post_signed(stack, agent_message(to_id, "after the turn", message_id="m-after")) == (
        200, {"status": "delivered"})
    await holder
    assert texts(await stack.events(), "agent") == ["after the turn"]
    assert await store.index_items(INBOX) == {}
