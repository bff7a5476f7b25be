"""The OAuth client's channel limit: Genesys silently removes the oldest channel past it, so none is made."""

from __future__ import annotations

import asyncio
import logging

import pytest

from extension.providers.genesys_om import channel_slots, notifications
from extension.testing.emulator import Emulator, EmulatorConfig
from extension.testing.emulator.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_WEBHOOK_SECRET
from handover.helpers import end_by_agent, lines, start

from stack import Stack, StackFactory
from support import eventually

CHANNELS = "/api/v2/notifications/channels"
STOPPED = "and no other is created: the OAuth client's 2 channels are in use"


def second_connection(emulator_url: str) -> str:
    """A second connection with the same OAuth client, and an endpoint handing over through it."""
    return f"""
[connections.second]
type = "genesysCloudOM"
host = "{emulator_url}"
deploymentName = "BotHandover"
queue = "Support"
webhookSecret = "{DEFAULT_WEBHOOK_SECRET}"
clientId = "{DEFAULT_CLIENT_ID}"
clientSecret = "{DEFAULT_CLIENT_SECRET}"

[[endpoints]]
urlToken = "second-bot"
organisation = "acme"
flow = "flow.json"
handover = "second"
"""


async def test_connections_sharing_an_oauth_client_never_make_genesys_remove_a_live_channel(
        make_stack: StackFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    # Room for one handover per channel, and two channels per OAuth client, in the runtime and in Genesys.
    monkeypatch.setattr(channel_slots, "MAX_CHANNELS", 2)
    monkeypatch.setattr(notifications, "MAX_TOPICS_PER_CHANNEL", 3)
    caplog.set_level(logging.INFO, logger="extension.handover")
    emu = Emulator(EmulatorConfig(webhook_retry_delay=0.05, heartbeat_interval=0.5, max_channels_per_client=2))
    await emu.start()
    assert emu.base_url is not None
    stack = await make_stack(emulator=emu,
                             extra="reconcile_unwatched_interval_seconds = 0.2\n" + second_connection(emu.base_url))
    other = Stack(emu, stack.client, token="second-bot")
    c0 = await start(stack, "u0")
    await stack.subscribed(c0)
    c1 = await start(other, "u1")
    await stack.subscribed(c1)
    # The third would need a third channel: none is created, the handover is left to the reconciler.
    c2 = await start(other, "u2")
    await eventually(lambda: stack.waiting("second") == {c2}, "the third handover left waiting for a channel")
    assert stack.waiting("second") == {c2}
    await asyncio.sleep(0.3)
    assert len([r for r in emu.requests if r.method == "POST" and r.path == CHANNELS]) == 2
    assert emu.notifications.evicted == []
    assert lines(caplog, STOPPED) == 1
    metrics = await (await stack.client.get("/metrics")).text()
    assert 'genesys_om_unwatched_handovers{connection="second",reason="capacity"} 1' in metrics

    # Its end is found all the same, and the first connection's events still arrive.
    await end_by_agent(other, c2, "u2")
    await end_by_agent(stack, c0, "u0")
    assert emu.published_events(f"v2.detail.events.conversation.{c0}.user.end")[-1].delivered_to
    await end_by_agent(other, c1, "u1")
    assert emu.notifications.evicted == []
