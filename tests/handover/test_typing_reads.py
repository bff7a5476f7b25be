"""Typing never loads the session: a small index says where a session's typing goes while its handover is open."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import pytest

from extension import keys
from extension.flows.session import SessionKey
from extension.providers.genesys_om.state import TYPING_TO
from extension.store import Store
from handover.helpers import barrier, typing_requests

from stack import Stack, StackFactory, start_handover

# Set while the test hands the runtime a typing input: only the reads made for it are counted
# (the outbox and the other background work keep reading sessions meanwhile).
_TYPING: ContextVar[bool] = ContextVar("typing", default=False)
KEY = SessionKey("support-bot", "u1", "s1")


@pytest.fixture
def typing_reads(monkeypatch: pytest.MonkeyPatch) -> Callable[[Stack], list[str]]:
    """The session documents the runtime's store reads for typing inputs (the stack's own store, wrapped)."""

    def watch(stack: Stack) -> list[str]:
        store: Store = stack.client.app[keys.STORE]
        reads: list[str] = []
        real = store.get_session

        async def counted(key: str) -> Any:
            if _TYPING.get():
                reads.append(key)
            return await real(key)

        monkeypatch.setattr(store, "get_session", counted)
        return reads

    return watch


async def type_once(stack: Stack) -> None:
    sessions = stack.client.app[keys.SESSIONS]
    endpoint = sessions.endpoint("support-bot")
    assert endpoint is not None
    token = _TYPING.set(True)
    try:
        await sessions.handle_typing(endpoint, KEY)
    finally:
        _TYPING.reset(token)


async def barrier_typing(stack: Stack) -> None:
    """The typing events started are done (they run on their own, not in the input)."""
    await stack.typing_sent()


async def test_typing_does_not_read_the_session(make_stack: StackFactory,
                                                typing_reads: Callable[[Stack], list[str]]) -> None:
    stack = await make_stack()
    for i in range(5):
        await stack.say(f"a long paste {i} " + "x" * 9000)
    await start_handover(stack)
    reads = typing_reads(stack)
    for _ in range(3):
        await type_once(stack)
    await barrier_typing(stack)
    assert reads == []
    assert len(typing_requests(stack)) == 1  # forwarded all the same (once per interval)


async def test_typing_without_a_handover_reads_nothing_and_sends_nothing(
        make_stack: StackFactory, typing_reads: Callable[[Stack], list[str]]) -> None:
    stack = await make_stack()
    await stack.say("hello")
    reads = typing_reads(stack)
    for _ in range(20):
        await type_once(stack)
    await barrier_typing(stack)
    assert reads == [] and typing_requests(stack) == []


async def test_typing_stops_when_the_handover_ends(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    await stack.emu.agent.end(cid)
    await stack.wait_status("completed")
    async with stack.client.ws_connect("/support-bot/socket", params={"userId": "u1", "sessionId": "s1"}) as ws:
        await ws.send_json({"type": "typing"})
        await barrier(ws, 0, stack)
    assert typing_requests(stack) == []


async def test_a_typing_entry_left_behind_by_an_ended_handover_is_dropped(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    store = stack.client.app[keys.STORE]
    entry = await store.index_get(TYPING_TO, KEY.id)
    assert entry is not None and json.loads(entry)["conversationId"] == cid
    await stack.emu.agent.end(cid)
    await stack.wait_status("completed")
    # As if the start's write had raced past the end's clean-up.
    await store.index_set(TYPING_TO, KEY.id, entry)
    await type_once(stack)
    await barrier_typing(stack)
    assert typing_requests(stack) == [] and await store.index_get(TYPING_TO, KEY.id) is None
