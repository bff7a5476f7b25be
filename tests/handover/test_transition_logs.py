"""One INFO line per handover transition, naming the session, the connection and the conversation."""

from __future__ import annotations

import logging

import pytest

from extension.testing.clock import ManualClock
from extension.testing.emulator.config import DEFAULT_CLIENT_SECRET, DEFAULT_WEBHOOK_SECRET

from stack import Stack, StackFactory, texts
from support import eventually, while_advancing

LOGGER = "extension.handover.transitions"


def transitions(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER]


async def until_logged(caplog: pytest.LogCaptureFixture, what: str) -> logging.LogRecord:
    def found() -> list[logging.LogRecord]:
        return [r for r in transitions(caplog) if getattr(r, "transition", None) == what]

    return (await eventually(found, f"a {what!r} transition line"))[-1]


async def start(stack: Stack) -> str:
    await stack.say("hello")
    await stack.say("agent please")
    cid = await stack.conversation_id()
    await stack.subscribed(cid)
    return cid


def assert_names(record: logging.LogRecord, cid: str | None) -> None:
    assert record.levelno == logging.INFO
    assert (record.urlToken, record.userId, record.sessionId) == ("support-bot", "u1", "s1")  # type: ignore[attr-defined]
    assert record.connection == "support"  # type: ignore[attr-defined]
    assert record.conversationId == cid  # type: ignore[attr-defined]
    message = record.getMessage()
    assert "support-bot/u1/s1" in message and "connection support" in message
    if cid:
        assert f"conversation {cid}" in message


async def test_a_handover_from_start_to_end_is_one_line_per_transition(
        make_stack: StackFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    stack = await make_stack()
    cid = await start(stack)
    for what in ("started", "queued"):
        assert_names(await until_logged(caplog, what), cid)
    await stack.emu.agent.accept(cid, "Anna")
    assert_names(await until_logged(caplog, "active"), cid)
    await stack.emu.agent.transfer(cid, "Bob")
    transferred = await until_logged(caplog, "transferred")
    assert_names(transferred, cid)
    assert "TRANSFER" in transferred.getMessage()
    await stack.emu.agent.reply(cid, "Bob here")
    await stack.wait_for(lambda ev: "Bob here" in texts(ev, "agent"))
    await stack.emu.agent.end(cid)
    await stack.wait_status("completed")
    assert_names(await until_logged(caplog, "ended"), cid)
    seen = [r.transition for r in transitions(caplog)]  # type: ignore[attr-defined]
    # Bob's join after the transfer is no new transition: the handover stayed active.
    assert seen == ["started", "queued", "active", "transferred", "ended"], seen


async def test_a_cancel_and_a_failed_start_are_logged(make_stack: StackFactory,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    clock = ManualClock()  # the client's retry pauses pass as the test advances it
    stack = await make_stack(clock=clock)
    cid = await start(stack)
    await stack.say("cancel")
    assert_names(await until_logged(caplog, "cancelled"), cid)

    stack.emu.faults.server_error(path="/api/v2/conversations/messages/*", status=503, times=None)
    await while_advancing(clock, stack.say("agent"))
    error = await until_logged(caplog, "error")
    assert_names(error, None)
    assert "(error)" in error.getMessage()


async def test_no_secret_reaches_any_log_line(make_stack: StackFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    stack = await make_stack(session_access="token")
    cid = await start(stack)
    await stack.emu.agent.accept(cid)
    await stack.emu.agent.reply(cid, "hello")
    await stack.wait_for(lambda ev: "hello" in texts(ev, "agent"))
    await stack.emu.agent.end(cid)
    await stack.wait_status("completed")
    await until_logged(caplog, "ended")
    token = stack.session_tokens["u1"]
    for record in caplog.records:
        line = f"{record.getMessage()} {record.__dict__}"
        for secret in (token, DEFAULT_CLIENT_SECRET, DEFAULT_WEBHOOK_SECRET):
            assert secret not in line, record.getMessage()
