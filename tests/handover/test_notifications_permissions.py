"""An OAuth client without the permission the conversation topics need: said once, ends still found."""

from __future__ import annotations

import asyncio
import logging

import pytest

from extension.testing.emulator import Emulator, EmulatorConfig
from extension.testing.emulator.config import DEFAULT_CLIENT_ID
from handover.helpers import end_by_agent, lines, start

from stack import StackFactory
from support import eventually

PERMISSION = "analytics:conversationDetail:view"
MISSING = "the OAuth client's role lacks analytics:conversationDetail:view"
CHANNELS = "/api/v2/notifications/channels"


async def unwatched_metric(stack: object) -> str:
    resp = await stack.client.get("/metrics")  # type: ignore[attr-defined]
    return next((line for line in (await resp.text()).splitlines()
                 if line.startswith('genesys_om_unwatched_handovers{connection="support",reason="permission"}')), "")


async def test_refused_topics_are_logged_once_counted_and_left_to_the_faster_reconciler(
        make_stack: StackFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="extension.handover")
    emu = Emulator(EmulatorConfig(webhook_retry_delay=0.05, heartbeat_interval=0.5,
                                  missing_permissions={DEFAULT_CLIENT_ID: [PERMISSION]}))
    # The regular pass never runs here: only the faster one over unwatched handovers can end them.
    stack = await make_stack(emulator=emu, extra="reconcile_unwatched_interval_seconds = 0.2\n")
    c0 = await start(stack, "u0")
    c1 = await start(stack, "u1")
    await eventually(lambda: stack.unwatched() == {c0, c1}, "both handovers left unwatched")
    assert stack.unwatched() == {c0, c1}
    assert stack.watched() == set()
    assert (await unwatched_metric(stack)).endswith(" 2")

    # Subscribed with ignoreErrors: the channel stays, no reconnect loop, one line for both handovers.
    await asyncio.sleep(0.5)
    subscriptions = [r for r in emu.requests if r.path.endswith("/subscriptions") and r.method in ("PUT", "POST")]
    assert subscriptions and all(r.query.get("ignoreErrors") == "true" and r.status == 200 for r in subscriptions)
    assert len([r for r in emu.requests if r.method == "POST" and r.path == CHANNELS]) == 1
    assert lines(caplog, MISSING) == 1

    # The agent ends: no event can reach the runtime, the reconciler finds it within its faster pass.
    await end_by_agent(stack, c0, "u0")
    assert not emu.published_events(f"v2.detail.events.conversation.{c0}.user.end")[-1].delivered_to
    assert (await unwatched_metric(stack)).endswith(" 1")

    # The permission is granted: the next handover is subscribed, and the one left waiting with it.
    emu.config.missing_permissions.clear()
    c2 = await start(stack, "u2")
    await stack.subscribed(c2)
    await stack.subscribed(c1)
    assert stack.watched() == {c1, c2}
    assert (await unwatched_metric(stack)).endswith(" 0")
    await end_by_agent(stack, c1, "u1")
    assert emu.published_events(f"v2.detail.events.conversation.{c1}.user.end")[-1].delivered_to
    assert lines(caplog, MISSING) == 1
