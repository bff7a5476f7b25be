"""End detection through the queue topic (`[handover] end_topics = "queue"`): one topic for every handover."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from extension.testing.emulator import Emulator, EmulatorConfig, QueueConfig
from extension.testing.emulator.config import DEFAULT_CLIENT_ID, DEFAULT_QUEUE_ID, DEFAULT_QUEUE_NAME
from extension.testing.emulator.queue_events import queue_topic
from handover.helpers import lines, start

from stack import Stack, StackFactory, read_by_the_runtime, texts
from support import eventually

QUEUE = 'end_topics = "queue"\n'
SUPPORT = queue_topic(DEFAULT_QUEUE_ID)
BILLING = queue_topic("queue-billing")
PERMISSION = "routing:queue:view"
REFUSED = "Genesys refuses the queue conversation topics"


def emulator(**extra: Any) -> Emulator:
    return Emulator(EmulatorConfig(webhook_retry_delay=0.05, heartbeat_interval=0.5, **extra))


def subscribed_topics(stack: Stack) -> list[str]:
    """Every topic the runtime's channels hold at the emulator."""
    return sorted(t for c in stack.emu.notifications.channels.values() for t in c.topics)


def conversation_reads(stack: Stack, cid: str) -> int:
    path = f"/api/v2/conversations/messages/{cid}"
    return len([r for r in stack.emu.requests if r.method == "GET" and r.path == path])


async def watched(stack: Stack, *cids: str) -> None:
    await eventually(lambda: stack.watched() == set(cids), f"{cids} watched")


async def queue_subscribed(stack: Stack, *topics: str) -> None:
    await eventually(lambda: subscribed_topics(stack) == sorted(topics or [SUPPORT]), f"{topics} subscribed")


async def test_an_agent_end_is_seen_through_the_queue_topic_alone(make_stack: StackFactory) -> None:
    # No reconciler pass in this test: only an event can end the handover.
    stack = await make_stack(extra=QUEUE)
    cid = await start(stack, "u1")
    await watched(stack, cid)
    await queue_subscribed(stack)

    # Ringing, then answered: the queue events say which, so the conversation is never read meanwhile
    # (the reads once the channel connected, which check every handover, are over by now).
    await eventually(lambda: conversation_reads(stack, cid) == 1, "the check after connecting")
    await stack.emu.agent.ring(cid)
    await stack.emu.agent.accept(cid)
    await stack.wait_status("active")
    await stack.emu.agent.end(cid)
    events = await stack.wait_status("completed")
    assert texts(events)[-1] == "Back with the bot."
    assert conversation_reads(stack, cid) == 1
    # Nothing listened to the conversation's own topics; the queue topic carried every change.
    assert not stack.emu.published_events(f"v2.detail.events.conversation.{cid}.user.end")[-1].delivered_to
    assert all(e.delivered_to for e in stack.emu.published_events(SUPPORT))
    await watched(stack)
    assert subscribed_topics(stack) == [SUPPORT]  # kept for the next handover


async def test_a_hundred_handovers_hold_one_topic(make_stack: StackFactory) -> None:
    stack = await make_stack(extra=QUEUE)
    cids = [await start(stack, f"u{n}") for n in range(100)]
    await watched(stack, *cids)
    assert subscribed_topics(stack) == [SUPPORT]
    assert len(stack.channel_ids()) == 1
    # Per conversation topics it would be 300 on a second channel already (1,000 topics per channel).
    subscriptions = [r for r in stack.emu.requests if r.path.endswith("/subscriptions") and r.method in ("PUT", "POST")]
    assert len(subscriptions) == 1
    # One of them ends: seen, and the topic stays for the 99 others.
    await stack.emu.agent.accept(cids[7])
    await stack.emu.agent.end(cids[7])
    await stack.wait_status("completed", user="u7")
    await watched(stack, *(c for n, c in enumerate(cids) if n != 7))
    assert subscribed_topics(stack) == [SUPPORT]


async def test_a_transfer_to_another_queue_subscribes_it_until_the_end_there(make_stack: StackFactory) -> None:
    emu = emulator(queues=[QueueConfig(id=DEFAULT_QUEUE_ID, name=DEFAULT_QUEUE_NAME),
                           QueueConfig(id="queue-billing", name="Billing")])
    stack = await make_stack(emulator=emu, extra=QUEUE)
    cid = await start(stack, "u1")
    await watched(stack, cid)
    await queue_subscribed(stack)
    await stack.emu.agent.accept(cid)
    await stack.wait_status("active")

    await stack.emu.agent.transfer_to_queue(cid, "Billing")
    await queue_subscribed(stack, SUPPORT, BILLING)
    assert stack.emu.agent.get(cid).state == "waiting"
    assert "completed" not in await stack.handover_statuses()  # a transfer is no end

    # Only Billing's topic hears of the rest: the new agent, then their end.
    await stack.emu.agent.accept(cid, "Bob")
    await stack.emu.agent.end(cid)
    await stack.wait_status("completed")
    last_support = [e for e in stack.emu.published_events(SUPPORT) if e.body["id"] == cid][-1]
    assert [p["purpose"] for p in last_support.body["participants"]][-1] == "acd"  # the transfer, nothing after
    # No owned conversation is in Billing any more: its topic is left, the connection's own queue stays.
    await queue_subscribed(stack)


async def test_events_of_conversations_not_ours_cost_no_store_read(
        make_stack: StackFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = await make_stack(extra=QUEUE)
    ours = await start(stack, "u1")
    await watched(stack, ours)
    await queue_subscribed(stack)
    reads: list[tuple[str, tuple[Any, ...]]] = []
    for name in ("get_session", "index_get", "index_items"):
        original: Callable[..., Awaitable[Any]] = getattr(stack.store, name)

        def spy(*args: Any, _name: str = name, _original: Callable[..., Awaitable[Any]] = original) -> Awaitable[Any]:
            reads.append((_name, args))
            return _original(*args)

        monkeypatch.setattr(stack.store, name, spy)

    # Another customer of the same queue, not a handover: routed, answered and ended.
    integration = stack.emu.integration
    other, _ = stack.emu.router.receive_message(integration, {
        "channel": {"from": {"id": "someone-else", "idType": "Opaque", "nickname": "Eve"}}, "text": "hi"})
    await stack.emu.agent.accept(other.id)
    await stack.emu.agent.end(other.id)
    # Then ours rings: once the runtime read that, it has read every earlier frame of the channel.
    async with read_by_the_runtime(stack, ours):
        await stack.emu.agent.ring(ours)
    foreign = [e for e in stack.emu.published_events(SUPPORT) if e.body["id"] == other.id]
    assert len(foreign) >= 2 and all(e.delivered_to for e in foreign)
    assert not [r for r in reads if other.id in repr(r[1])]
    assert not stack.signalled(other.id)
    assert [r for r in reads if ours in repr(r[1])]  # the spy sees what the runtime reads for its own


async def test_without_the_permission_each_handover_falls_back_to_its_own_topics(
        make_stack: StackFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="extension.providers.genesys_om.notifications")
    emu = emulator(missing_permissions={DEFAULT_CLIENT_ID: [PERMISSION]})
    stack = await make_stack(emulator=emu, extra=QUEUE)
    c1 = await start(stack, "u1")
    await stack.subscribed(c1)
    c2 = await start(stack, "u2")
    await stack.subscribed(c2)
    await watched(stack, c1, c2)
    topics = subscribed_topics(stack)
    assert SUPPORT not in topics and len(topics) == 6
    assert lines(caplog, REFUSED) == 1
    assert PERMISSION in next(r.getMessage() for r in caplog.records if REFUSED in r.getMessage())
    await stack.emu.agent.accept(c2)
    await stack.emu.agent.end(c2)
    await stack.wait_status("completed", user="u2")
    assert stack.emu.published_events(f"v2.detail.events.conversation.{c2}.user.end")[-1].delivered_to
