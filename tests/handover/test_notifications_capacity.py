"""Notifications channels at their limits: past the topic capacity, and at a channel's expiry."""

from __future__ import annotations

import logging

import pytest

from extension.providers.genesys_om import channel_slots, notifications
from extension.testing.clock import ManualClock
from extension.testing.emulator import Emulator, EmulatorConfig
from handover.helpers import end_by_agent, lines, start

from stack import Stack, StackFactory, past_the_debounce, start_handover
from support import eventually, eventually_advancing

FULL = "every notifications channel is full"
ALL_PLACED = "every handover is subscribed to notifications again"




def subscription_requests(stack: Stack, cid: str) -> int:
    return len([r for r in stack.emu.requests if r.path.endswith("/subscriptions") and r.method in ("PUT", "POST")
                and cid in str(r.json)])






async def test_handovers_past_the_limit_wait_for_room_and_their_ends_are_detected(
        make_stack: StackFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    # Two channels of three topics: room for two handovers (three topics each).
    monkeypatch.setattr(channel_slots, "MAX_CHANNELS", 2)
    monkeypatch.setattr(notifications, "MAX_TOPICS_PER_CHANNEL", 3)
    caplog.set_level(logging.INFO, logger="extension.providers.genesys_om.notifications")
    stack = await make_stack(reconcile_interval=0.2)
    c0, c1, c2, c3 = [await start(stack, f"u{i}") for i in range(4)]
    await stack.subscribed(c0)
    await stack.subscribed(c1)
    assert stack.watched() == {c0, c1}
    assert stack.waiting() == {c2, c3}
    assert len(stack.channel_ids()) == 2

    # Re-syncs (the once-a-second pass, and nudges) neither retry the waiting ones nor log again.
    for _ in range(5):
        await stack.resync()
    assert stack.waiting() == {c2, c3}
    assert subscription_requests(stack, c2) == subscription_requests(stack, c3) == 0
    assert lines(caplog, FULL) == 1

    # A waiting handover's end is found by the reconciler; it leaves the queue without taking room.
    await end_by_agent(stack, c2, "u2")
    assert stack.waiting() == {c3}
    assert subscription_requests(stack, c2) == 0

    # A subscribed handover ends: its room goes to the one still waiting.
    await end_by_agent(stack, c0, "u0")
    await stack.subscribed(c3)
    assert stack.watched() == {c1, c3}
    assert stack.waiting() == set()
    # Logged once the subscription answer is back, just after the emulator recorded the request.
    await eventually(lambda: lines(caplog, ALL_PLACED), "the line that every handover is subscribed again")
    assert lines(caplog, ALL_PLACED) == 1

    # Its end arrives over the channel it was given.
    await end_by_agent(stack, c3, "u3")
    ended = stack.emu.published_events(f"v2.detail.events.conversation.{c3}.user.end")[-1]
    assert ended.delivered_to
    await end_by_agent(stack, c1, "u1")
    assert lines(caplog, FULL) == 1


async def test_a_waiting_handover_gone_from_the_index_leaves_the_queue_at_the_next_resync(
        make_stack: StackFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    from extension.providers.genesys_om.state import BY_CONVERSATION

    monkeypatch.setattr(channel_slots, "MAX_CHANNELS", 1)
    monkeypatch.setattr(notifications, "MAX_TOPICS_PER_CHANNEL", 3)
    stack = await make_stack()
    c0, c1 = [await start(stack, f"u{i}") for i in range(2)]
    await stack.subscribed(c0)
    assert stack.waiting() == {c1}
    # As when another replica ended it and this one missed the nudge.
    await stack.store.index_delete(BY_CONVERSATION, c1)
    await stack.resync()
    assert stack.waiting() == set()
    assert stack.watched() == {c0}


async def test_a_renewal_overlaps_the_channels_and_handles_each_event_once(
        make_stack: StackFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # Channels live 6 s and are renewed 4 s before: the renewal comes at 2 s, and the old channel
    # is still read until it expires, so the agent's join below falls inside the overlap.
    monkeypatch.setattr(notifications, "RENEW_OVERLAP_SECONDS", 30.0)
    clock = ManualClock()  # shared by the runtime and the emulator; the test moves it on
    emu = Emulator(EmulatorConfig(webhook_retry_delay=0.05, heartbeat_interval=0.5, channel_lifetime=6.0),
                   clock=clock.time)
    stack = await make_stack(emulator=emu, extra="channel_renew_seconds = 4.0\n", clock=clock)
    handled, reconnects = stack.spy_notifications()
    cid = await start_handover(stack)
    old = next(c for c in emu.notifications.channels.values() if any(cid in t for t in c.topics))

    def both_subscribed() -> bool:
        return len([c for c in emu.notifications.channels.values()
                    if c.connected and any(cid in t for t in c.topics)]) == 2

    await clock.advance(2.0)
    await eventually(both_subscribed, "the next channel subscribed while the old one is open")
    await emu.agent.accept(cid)
    await stack.wait_status("active")
    started = emu.published_events(f"v2.detail.events.conversation.{cid}.user.start")[-1]
    assert len(started.delivered_to) == 2 and old.id in started.delivered_to
    assert [e.kind for e in handled if e.conversation_id == cid] == ["user.start"]
    # Only the first connect asked for a reconcile of everything: the renewal left no gap.
    assert reconnects == ["support"]
    await emu.agent.end(cid)
    await past_the_debounce(stack, cid)
    await stack.wait_status("completed")


async def test_a_renewal_without_a_channel_to_spare_replaces_the_old_channel(
        make_stack: StackFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # One channel per client: the next one cannot be opened beside the old, so the old goes first.
    monkeypatch.setattr(channel_slots, "MAX_CHANNELS", 1)
    clock = ManualClock()  # shared by the runtime and the emulator; the test moves it on
    emu = Emulator(EmulatorConfig(webhook_retry_delay=0.05, heartbeat_interval=0.5, channel_lifetime=4.0,
                                  max_channels_per_client=1), clock=clock.time)
    stack = await make_stack(emulator=emu, extra="channel_renew_seconds = 2.0\n", clock=clock)
    cid = await start_handover(stack)
    old = next(c for c in emu.notifications.channels.values() if any(cid in t for t in c.topics))

    def replaced() -> bool:
        return any(c.id != old.id and c.connected and any(cid in t for t in c.topics)
                   for c in emu.notifications.channels.values())

    await clock.advance(2.0)  # the renewal is due; the replacement opens after the loop's short pause
    await eventually_advancing(clock, replaced, "the channel replaced", step=0.05)
    creations = [r.status for r in emu.requests if r.method == "POST" and r.path == "/api/v2/notifications/channels"]
    # The first, then its replacement once the old one was left: none beside it, which Genesys would
    # have made room for by silently removing the live one.
    assert creations == [200, 200]
    assert not old.connected
    assert [c.id for c in emu.notifications.evicted] in ([], [old.id])
    await emu.agent.accept(cid)
    await emu.agent.end(cid)
    await past_the_debounce(stack, cid)
    await stack.wait_status("completed")
