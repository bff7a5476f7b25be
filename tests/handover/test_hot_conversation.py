"""A hot conversation: many agent messages for one handover at once are answered without waiting for
the turns before them, stored before the answer, and reach the user in the order they came."""

from __future__ import annotations

import asyncio
import json

from extension.flows.session import SessionKey
from extension.providers.genesys_om.webhook import INBOX

from stack import Stack, StackFactory, agent_message, genesys_user_id, post_signed, start_handover, texts
from support import eventually

KEY = SessionKey("support-bot", "u1", "s1")


async def _busy_session(stack: Stack) -> tuple[asyncio.Event, asyncio.Task[None]]:
    """Another turn holding the session (a slow Genesys call of a start, say) until released."""
    held, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with stack.store.lock(KEY.id):
            held.set()
            await release.wait()

    task = asyncio.create_task(hold())
    await held.wait()
    return release, task


async def test_a_burst_is_answered_at_once_stored_first_and_delivered_in_order(make_stack: StackFactory) -> None:
    stack = await make_stack(extra="webhook_wait_seconds = 0.2\n")
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    to_id = await genesys_user_id(stack)
    release, holder = await _busy_session(stack)
    sent = [f"burst {n}" for n in range(12)]
    first = asyncio.create_task(post_signed(stack, agent_message(to_id, sent[0], message_id="b-0")))
    await eventually(lambda: stack.runtime.inbox.draining(KEY.id), "the first message waits for the session")
    rest = [await post_signed(stack, agent_message(to_id, text, message_id=f"b-{n}"))
            for n, text in enumerate(sent[1:], start=1)]
    # Behind a busy session: answered without waiting for it, each already in the store.
    assert rest == [(200, {"status": "accepted"})] * len(rest)
    stored = await stack.store.index_items(INBOX)
    assert {json.loads(v)["body"]["text"] for v in stored.values()} >= set(sent[1:])
    assert await first == (200, {"status": "accepted"})  # its wait passed while the session stayed busy
    assert texts(await stack.events(), "agent") == []
    release.set()
    await holder
    await stack.wait_for(lambda ev: len(texts(ev, "agent")) == len(sent))
    assert texts(await stack.events(), "agent") == sent
    await eventually(lambda: _empty_inbox(stack), "the stored copies dropped once delivered")


async def _empty_inbox(stack: Stack) -> bool:
    return await stack.store.index_items(INBOX) == {}


async def test_a_burst_answered_then_killed_is_delivered_in_order_by_the_next_process(
        make_stack: StackFactory) -> None:
    first = await make_stack(store="sqlite:///state.db", extra="webhook_wait_seconds = 0.1\n")
    cid = await start_handover(first)
    await first.emu.agent.accept(cid)
    to_id = await genesys_user_id(first)
    release, holder = await _busy_session(first)
    sent = [f"before the crash {n}" for n in range(6)]
    answers = [await post_signed(first, agent_message(to_id, text, message_id=f"k-{n}"))
               for n, text in enumerate(sent)]
    assert answers == [(200, {"status": "accepted"})] * len(sent)
    # The process dies with the session still busy: nothing was delivered, everything is stored.
    await first.client.close()
    release.set()
    await holder
    second = await make_stack(store="sqlite:///state.db", emulator=first.emu)
    await second.wait_for(lambda ev: len(texts(ev, "agent")) == len(sent))
    assert texts(await second.events(), "agent") == sent
    await eventually(lambda: _empty_inbox(second), "the stored copies dropped once delivered")
