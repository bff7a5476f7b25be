"""A webhook secret that does not match the integration's: logged, counted, and the user is told."""

from __future__ import annotations

import logging

import pytest

from extension.providers.genesys_om import signature_alarm
from extension.providers.genesys_om.signature_alarm import AGENT_UNREACHABLE
from extension.testing.clock import ManualClock
from extension.testing.emulator.config import DEFAULT_WEBHOOK_SECRET

from stack import Stack, StackFactory, past_the_debounce, start_handover, texts
from support import eventually

MISMATCH = "the webhook secret does not match the integration's"


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR and MISMATCH in r.getMessage()]


async def refused(stack: Stack) -> float:
    metrics = await (await stack.client.get("/metrics")).text()
    prefix = 'genesys_om_webhook_signature_failures_total{connection="support"} '
    return next((float(line[len(prefix):]) for line in metrics.splitlines() if line.startswith(prefix)), 0.0)


async def test_agent_messages_with_a_wrong_secret_are_logged_once_a_minute_and_the_user_is_told_once(
        make_stack: StackFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="extension.handover")
    clock = ManualClock()
    stack = await make_stack(clock=clock)
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    await stack.wait_status("active")
    # The integration's secret was changed in Genesys, not in the runtime's configuration.
    stack.emu.integration.webhook_secret = "another-secret-of-the-integration"
    await stack.emu.agent.reply(cid, "Hello, this is Anna.")
    events = await stack.wait_for(lambda ev: AGENT_UNREACHABLE in texts(ev, "system"))
    assert "Hello, this is Anna." not in texts(events)
    await stack.emu.agent.reply(cid, "Can you hear me?")
    # A 401 is not retried by Genesys: each message counts once; one ERROR for the minute, one notice.

    async def both_refused() -> bool:
        return await refused(stack) == 2

    await eventually(both_refused, "both agent messages counted as refused")
    assert await refused(stack) == 2
    assert len(errors(caplog)) == 1
    [line] = errors(caplog)
    assert line.startswith("1 webhook(s) refused") and "connection support (integration 'BotHandover'" in line
    assert stack.emu.integration.id in line
    assert "another-secret" not in caplog.text and DEFAULT_WEBHOOK_SECRET not in caplog.text

    # A minute later while they still fail: one more ERROR, with the count.
    await clock.advance(signature_alarm.LOG_INTERVAL_SECONDS)
    await stack.emu.agent.reply(cid, "Still there?")
    await eventually(lambda: len(errors(caplog)) == 2, "the second ERROR line, a minute later")
    assert len(errors(caplog)) == 2 and errors(caplog)[1].startswith("2 webhook(s) refused in the last minute")
    assert texts(await stack.events(), "system").count(AGENT_UNREACHABLE) == 1

    # Fixed: messages flow again, and the handover ends as usual.
    stack.emu.integration.webhook_secret = DEFAULT_WEBHOOK_SECRET
    await stack.emu.agent.reply(cid, "There you are.")
    await stack.wait_for(lambda ev: "There you are." in texts(ev, "agent"))
    await stack.emu.agent.end(cid)
    await past_the_debounce(stack, cid)
    await stack.wait_status("completed")


async def test_a_wrongly_signed_body_naming_no_active_handover_only_counts(make_stack: StackFactory,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="extension.handover")
    stack = await make_stack()
    body = b'{"channel": {"id": "not-an-integration", "to": {"id": "nobody"}}, "type": "Text", "text": "x"}'
    for _ in range(3):
        headers = {"X-Hub-Signature-256": "sha256=AAAA", "Content-Type": "application/json"}
        resp = await stack.client.post("/handover/genesysCloudOM", data=body, headers=headers)
        assert resp.status == 401
    # Unsigned requests (not from Genesys) are refused without counting.
    assert (await stack.client.post("/handover/genesysCloudOM", data=body)).status == 401
    metrics = await (await stack.client.get("/metrics")).text()
    assert 'genesys_om_webhook_signature_failures_total{connection="unknown"} 3' in metrics
    [line] = errors(caplog)
    assert "the unsigned body says id 'not-an-integration'" in line
