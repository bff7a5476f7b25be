"""Two runtimes on one Redis: only the reconciler lease holder reads conversations from Genesys."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from extension.genesys.client import CONVERSATION

from redis_server import delete_prefix, new_prefix, redis_url, require_redis
from stack import Stack, StackFactory
from support import eventually

PASSES = 6  # reconciler passes to watch, at 0.1 s each


@pytest.fixture
async def store_url() -> AsyncIterator[str]:
    require_redis()
    prefix = new_prefix()
    yield redis_url(prefix, lock_seconds=2)
    await delete_prefix(prefix)


def conversation_gets(stack: Stack, cid: str) -> list[str]:
    """The bearer token of every GET of the conversation the emulator received, in order."""
    path = CONVERSATION.format(conversation_id=cid)
    return [r.headers.get("Authorization", "") for r in stack.emu.requests.matching(path, "GET")]


async def token_of(stack: Stack) -> str:
    return await stack.bearer()


# `store_url` first: its clean-up must run after both runtimes (which write to Redis) have stopped.
async def test_the_reconciler_runs_on_the_lease_holder_only(store_url: str, make_stack: StackFactory) -> None:
    settings = "lease_seconds = 2\n"
    a = await make_stack(store=store_url, reconcile_interval=0.1, extra=settings)
    b = await make_stack(store=store_url, reconcile_interval=0.1, extra=settings, emulator=a.emu)
    await eventually(lambda: a.leads_reconciler(), "A holds the reconciler lease")
    assert not b.leads_reconciler()
    # The handover starts on B, the replica without the lease.
    await b.say("hello")
    assert (await b.say("agent"))["outputStack"][0]["text"] == "You are being connected to an agent."
    cid = await b.conversation_id()
    await b.subscribed(cid)
    token_a, token_b = await token_of(a), await token_of(b)
    assert token_a != token_b  # each replica logs in on its own: the token tells who asked
    await eventually(lambda: len(conversation_gets(a, cid)) >= PASSES, "the reconciler checked the handover")
    # Named, not shown: an assertion message never prints a bearer token.
    readers = [{token_a: "A", token_b: "B"}.get(token, "unknown") for token in conversation_gets(a, cid)]
    assert set(readers) == {"A"}, readers
    assert b.reconciler_checks == 0
    assert not b.leads_reconciler()
