"""Two replicas on one Redis with queue topics: the notifications holder owns every handover, one topic."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from handover.helpers import start

from extension.testing.emulator.config import DEFAULT_QUEUE_ID
from extension.testing.emulator.queue_events import queue_topic

from redis_server import delete_prefix, new_prefix, redis_url, require_redis
from stack import Stack, StackFactory
from support import eventually

SETTINGS = 'end_topics = "queue"\nlease_seconds = 0.5\n'
SUPPORT = queue_topic(DEFAULT_QUEUE_ID)


@pytest.fixture
async def store_url() -> AsyncIterator[str]:
    require_redis()
    prefix = new_prefix()
    yield redis_url(prefix, lock_seconds=2)
    await delete_prefix(prefix)


def topics(stack: Stack) -> list[str]:
    """The topics of this replica's channels at the emulator (a stopped replica's channel lingers there)."""
    ids = set(stack.channel_ids())
    return sorted(t for c in stack.emu.notifications.channels.values() if c.id in ids for t in c.topics)


# `store_url` before `make_stack`: its clean-up runs after the runtimes are closed.
async def test_handovers_of_both_replicas_end_through_the_holders_queue_topic(
        store_url: str, make_stack: StackFactory) -> None:
    a = await make_stack(store=store_url, extra=SETTINGS)
    b = await make_stack(store=store_url, extra=SETTINGS, emulator=a.emu)
    assert a.leads("notifications:support")
    assert not b.leads("notifications:support")
    on_a = await start(a, "ua")
    on_b = await start(b, "ub")  # B only nudges: A owns it, from the shared index
    await eventually(lambda: a.watched() == {on_a, on_b}, "A owns both handovers")
    assert b.watched() == set()
    await eventually(lambda: topics(a) == [SUPPORT], "one queue topic for the two replicas")
    assert len(a.emu.notifications.channels) == 1 and topics(b) == []

    await a.emu.agent.accept(on_b)
    await a.emu.agent.end(on_b)
    await b.wait_status("completed", user="ub")  # seen by A, the session's events read on B
    await eventually(lambda: a.watched() == {on_a}, "A no longer owns the ended one")

    # A stops: B takes the lease over, owns what the index holds and subscribes the queue topic itself.
    await a.client.close()
    await eventually(lambda: b.watched() == {on_a}, "B owns the handover left")
    await eventually(lambda: topics(b) == [SUPPORT], "B's channel holds the queue topic")
    await b.emu.agent.accept(on_a)
    await b.emu.agent.end(on_a)
    await b.wait_status("completed", user="ua")
