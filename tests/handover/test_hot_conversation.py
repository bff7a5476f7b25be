"""A hot conversation: many agent messages for one handover at once are answered without waiting for
the turns before them, stored before the answer, and reach the user in the order they came."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from extension.flows.session import SessionKey
from extension.providers.genesys_om.webhook import INBOX
from extension.store import StoreError

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
    await eventually(lambda: stack.inbox_draining(KEY.id), "the first message waits for the session")
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


def _counting_commits(stack: Stack) -> list[int]:
    """Counts the store's commits that carry agent messages (how many each)."""
    store: Any = stack.store
    real = store.commit
    counted: list[int] = []

    async def commit(key: str, session: Any, events: list[Any], **options: Any) -> list[Any]:
        agent = sum(1 for e in events if e.get("source") == "agent")
        if agent:
            counted.append(agent)
        return await real(key, session, events, **options)

    store.commit = commit
    return counted


async def test_a_burst_for_a_free_session_is_stored_in_one_turn_each_answered_with_its_outcome(
        make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    to_id = await genesys_user_id(stack)
    commits = _counting_commits(stack)
    sent = [f"together {n}" for n in range(8)]
    bodies = [agent_message(to_id, text, message_id=f"t-{n}") for n, text in enumerate(sent)]
    bodies.insert(3, agent_message(to_id, "together 2", message_id="t-2"))  # Genesys sent one twice
    outcomes = await stack.deliver_at_once(bodies)
    assert outcomes == ["delivered"] * 3 + ["duplicate"] + ["delivered"] * 5
    assert commits == [8]  # one read and one commit of the session for the whole burst
    assert texts(await stack.events(), "agent") == sent
    # Each delivered message is receipted on its own, and its claim was stored with the turn.
    await eventually(lambda: _receipted(stack, [f"t-{n}" for n in range(8)]), "a Delivered receipt each")
    assert await stack.deliver_at_once([bodies[0]]) == ["duplicate"]


async def _receipted(stack: Stack, ids: list[str]) -> bool:
    receipts = [r for r in stack.emu.requests if r.path.endswith("/inbound/open/receipt")]
    return sorted(json.loads(r.body)["id"] for r in receipts if json.loads(r.body).get("status") == "Delivered") \
        == sorted(ids)


async def test_a_burst_whose_turn_fails_fails_every_webhook_of_it_and_stores_none(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    to_id = await genesys_user_id(stack)
    store: Any = stack.store
    real = store.commit

    async def failing(*args: Any, **options: Any) -> list[Any]:
        store.commit = real
        raise StoreError("the store is unreachable")

    store.commit = failing
    bodies = [agent_message(to_id, f"lost {n}", message_id=f"f-{n}") for n in range(4)]
    results = await stack.deliver_at_once(bodies, return_exceptions=True)
    assert all(isinstance(r, StoreError) for r in results), results  # each answered 5xx: Genesys redelivers
    assert texts(await stack.events(), "agent") == []
    assert await stack.deliver_at_once(bodies) == ["delivered"] * 4  # the redeliveries are not taken as duplicates
    assert texts(await stack.events(), "agent") == [f"lost {n}" for n in range(4)]


def _counting_stored_copies(stack: Stack) -> list[int]:
    """How many stored copies each write of the webhook inbox held (one entry per store write)."""
    store: Any = stack.store
    writes: list[int] = []
    set_one, set_many = store.index_set, store.index_set_many

    async def one(namespace: str, key: str, value: str) -> None:
        if namespace == INBOX:
            writes.append(1)
        await set_one(namespace, key, value)

    async def many(namespace: str, entries: dict[str, str]) -> None:
        if namespace == INBOX:
            writes.append(len(entries))
        await set_many(namespace, entries)

    store.index_set, store.index_set_many = one, many
    return writes


async def _behind_a_busy_session(make_stack: StackFactory, prefix: str
                                 ) -> tuple[Stack, str, asyncio.Event, asyncio.Task[None]]:
    """A handover whose session is held by another turn, with a first agent message queued behind it."""
    stack = await make_stack(extra="webhook_wait_seconds = 0.05\n")
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    to_id = await genesys_user_id(stack)
    release, holder = await _busy_session(stack)
    first = asyncio.create_task(post_signed(stack, agent_message(to_id, "first", message_id=f"{prefix}-0")))
    await eventually(lambda: stack.inbox_draining(KEY.id), "the first message waits for the session")
    assert await first == (200, {"status": "accepted"})
    return stack, to_id, release, holder


async def test_a_burst_behind_a_busy_session_is_stored_in_one_write(make_stack: StackFactory) -> None:
    stack, to_id, release, holder = await _behind_a_busy_session(make_stack, "w")
    writes = _counting_stored_copies(stack)
    sent = [f"burst {n}" for n in range(6)]
    outcomes = await stack.deliver_at_once([agent_message(to_id, t, message_id=f"w-{n + 1}")
                                            for n, t in enumerate(sent)])
    assert outcomes == ["accepted"] * 6
    assert writes == [6]  # one store write for the six, each answered once it was done
    assert len(await stack.store.index_items(INBOX)) == 7
    release.set()
    await holder
    await stack.wait_for(lambda ev: texts(ev, "agent") == ["first", *sent])
    await eventually(lambda: _empty_inbox(stack), "the stored copies dropped once delivered")


async def test_a_failed_write_of_a_burst_fails_every_webhook_of_it(make_stack: StackFactory) -> None:
    stack, to_id, release, holder = await _behind_a_busy_session(make_stack, "x")
    store: Any = stack.store
    real = store.index_set_many

    async def failing(namespace: str, entries: dict[str, str]) -> None:
        store.index_set_many = real
        raise StoreError("the store is unreachable")

    store.index_set_many = failing
    results = await stack.deliver_at_once([agent_message(to_id, f"lost {n}", message_id=f"x-{n + 1}")
                                           for n in range(3)], return_exceptions=True)
    assert all(isinstance(r, StoreError) for r in results), results  # each answered 5xx: Genesys redelivers
    assert len(await stack.store.index_items(INBOX)) == 1  # the first message's copy only
    release.set()
    await holder
