"""Cancel and closeHandover when Genesys fails the disconnect: the user moves on, the retry goes on."""

from __future__ import annotations

from typing import Any

from extension.providers.genesys_om.state import PENDING_DISCONNECT
from extension.testing.clock import ManualClock
from handover.helpers import PARTICIPANT, close_on_active_flow

from stack import StackFactory, start_handover, texts
from support import eventually_advancing, while_advancing


async def test_cancel_while_genesys_fails_the_disconnect(make_stack: StackFactory) -> None:
    clock = ManualClock()  # the client's retry pauses pass as the test advances it
    stack = await make_stack(clock=clock)
    cid = await start_handover(stack)
    stack.emu.faults.server_error(PARTICIPANT, method="PATCH", times=None)
    answer = await while_advancing(clock, stack.say(None, {"payload": "cancel"}))
    # The user is back with the bot at once, though Genesys still has the customer.
    assert answer["outputStack"][-1]["text"] == "Handover cancelled."
    assert await stack.handover_statuses() == ["queue", "cancelled"]
    assert (await stack.say("hi"))["outputStack"][0]["text"] == "echo: hi"
    store = stack.store
    assert stack.emu.agent.get(cid).customer.state == "connected"
    assert await store.index_items(PENDING_DISCONNECT) == {cid: "support"}

    await while_advancing(clock, stack.reconcile_upkeep())  # Genesys still failing: kept
    assert await store.index_items(PENDING_DISCONNECT) == {cid: "support"}
    stack.emu.faults.clear()
    await stack.reconcile_upkeep()
    assert stack.emu.agent.get(cid).customer.state == "disconnected"
    assert await store.index_items(PENDING_DISCONNECT) == {}


async def test_a_disconnect_genesys_no_longer_knows_is_done(make_stack: StackFactory) -> None:
    clock = ManualClock()
    stack = await make_stack(clock=clock)
    cid = await start_handover(stack)
    stack.emu.faults.server_error(PARTICIPANT, method="PATCH", times=None)
    await while_advancing(clock, stack.say(None, {"payload": "cancel"}))
    store = stack.store
    assert await store.index_items(PENDING_DISCONNECT) == {cid: "support"}
    stack.emu.faults.clear()
    stack.emu.faults.not_found(f"/api/v2/conversations/messages/{cid}", times=None)
    await stack.reconcile_upkeep()
    assert await store.index_items(PENDING_DISCONNECT) == {}




async def test_close_handover_retries_a_failed_disconnect_until_genesys_recovers(make_stack: StackFactory) -> None:
    # The reconciler loop runs every 0.1 s here: it is what retries the disconnect. Its passes and
    # the client's retry pauses go by as the test advances the clock.
    clock = ManualClock()
    stack = await make_stack(flow=close_on_active_flow(), reconcile_interval=0.1, clock=clock)
    cid = await start_handover(stack)
    rule = stack.emu.faults.server_error(PARTICIPANT, method="PATCH", times=5)
    await stack.emu.agent.accept(cid)

    async def closed() -> list[dict[str, Any]] | None:
        events = await stack.events()
        return events if "closed: completed" in texts(events, "bot") else None

    events = await eventually_advancing(clock, closed, "the flow past closeHandover")
    assert [e["status"] for e in events if e["type"] == "handover"] == ["queue", "active", "completed"]
    store = stack.store

    async def disconnected() -> bool:
        return stack.emu.agent.get(cid).customer.state == "disconnected" and not await store.index_items(
            PENDING_DISCONNECT)

    await eventually_advancing(clock, disconnected, "the customer disconnected, nothing pending")
    assert rule.hits == 5
