"""An organisation that refuses the customer disconnect: no endless retries, one log line, the user moves on."""

from __future__ import annotations

import logging

import pytest

from extension.providers.genesys_om.state import BY_CONVERSATION, PENDING_DISCONNECT
from extension.testing.clock import ManualClock
from handover.helpers import NO_SWEEPER, PARTICIPANT, close_on_active_flow, delete

from stack import Stack, StackFactory, start_handover, texts
from support import while_advancing

REFUSED = "Genesys refused to disconnect the customer"


def refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if REFUSED in r.getMessage()]


def customer_patches(stack: Stack, cid: str) -> list[int]:
    customer = stack.emu.agent.get(cid).customer.id
    return [r.status for r in stack.emu.requests if r.method == "PATCH" and r.path.endswith(customer)]


@pytest.mark.parametrize("status", [400, 403, 405, 409, 422])
async def test_a_refused_cancel_is_not_retried_and_logged_once(
        make_stack: StackFactory, caplog: pytest.LogCaptureFixture, status: int) -> None:
    caplog.set_level(logging.INFO, logger="extension.handover")
    stack = await make_stack()
    stack.emu.config.refuse_customer_disconnect = status
    cid = await start_handover(stack)

    answer = await stack.say(None, {"payload": "cancel"})

    assert answer["outputStack"][-1]["text"] == "Handover cancelled."
    assert await stack.handover_statuses() == ["queue", "cancelled"]
    store = stack.store
    assert await store.index_items(PENDING_DISCONNECT) == {}
    await stack.reconcile_upkeep()
    await stack.reconcile_upkeep()
    assert customer_patches(stack, cid) == [status]
    [line] = refusals(caplog)
    refusal = next(r for r in stack.emu.requests if r.method == "PATCH")
    assert refusal.json == {"state": "disconnected"}
    message = line.getMessage()
    assert f"HTTP {status}" in message and cid in message and "connection support" in message
    # Genesys' code and the id that traces the request in Genesys support.
    context_id = next(r for r in stack.emu.requests if r.status == status).correlation_id
    assert context_id and context_id in message
    assert "code " in message and "code -" not in message
    assert ("conversation:communication:disconnect" in message) == (status == 403)
    # The conversation stays open in Genesys until its agent ends it.
    assert stack.emu.agent.get(cid).customer.state == "connected"


async def test_a_disconnect_refused_after_transient_failures_stops_being_retried(
        make_stack: StackFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="extension.handover")
    clock = ManualClock()  # the client's retry pauses pass as the test advances it
    stack = await make_stack(clock=clock)
    cid = await start_handover(stack)
    stack.emu.faults.server_error(PARTICIPANT, method="PATCH", times=None)
    await while_advancing(clock, stack.say(None, {"payload": "cancel"}))
    store = stack.store
    assert await store.index_items(PENDING_DISCONNECT) == {cid: "support"}
    assert refusals(caplog) == []

    stack.emu.faults.clear()
    stack.emu.config.refuse_customer_disconnect = 409
    await stack.reconcile_upkeep()
    await stack.reconcile_upkeep()

    assert await store.index_items(PENDING_DISCONNECT) == {}
    assert customer_patches(stack, cid)[-1] == 409 and customer_patches(stack, cid).count(409) == 1
    assert len(refusals(caplog)) == 1


async def test_close_handover_completes_though_genesys_refuses(
        make_stack: StackFactory, caplog: pytest.LogCaptureFixture) -> None:
    stack = await make_stack(flow=close_on_active_flow())
    stack.emu.config.refuse_customer_disconnect = 403
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    await stack.emu.agent.reply(cid, "Hello, Anna here.")

    events = await stack.wait_for(lambda ev: "closed: completed" in texts(ev, "bot"))

    assert [e["status"] for e in events if e["type"] == "handover"] == ["queue", "active", "completed"]
    assert await stack.store.index_items(PENDING_DISCONNECT) == {}
    assert len(refusals(caplog)) == 1
    # The agent still has the conversation, and ends it when they will.
    assert stack.emu.agent.get(cid).state != "ended"


async def test_a_session_deleted_in_handover_goes_though_genesys_refuses(
        make_stack: StackFactory, caplog: pytest.LogCaptureFixture) -> None:
    stack = await make_stack(store_extra=NO_SWEEPER)
    stack.emu.config.refuse_customer_disconnect = 400
    cid = await start_handover(stack)

    assert await delete(stack) == (204, None)

    assert await stack.store.index_items(BY_CONVERSATION) == {}
    assert len(refusals(caplog)) == 1
    assert stack.emu.agent.get(cid).customer.state == "connected"
