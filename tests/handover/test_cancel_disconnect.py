"""Cancel and closeHandover when Genesys fails the disconnect: the user moves on, the retry goes on."""

from __future__ import annotations

import asyncio

from extension.providers.genesys_om.state import PENDING_DISCONNECT
from handover.helpers import PARTICIPANT, close_on_active_flow

from stack import Stack, StackFactory, start_handover, texts


async def wait_disconnected(stack: Stack, cid: str, within: float = 10.0) -> None:
    """Until Genesys has the customer disconnected and the runtime has nothing pending for it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    store = stack.store
    while stack.emu.agent.get(cid).customer.state != "disconnected" or await store.index_items(PENDING_DISCONNECT):
        if loop.time() > deadline:
            raise AssertionError(f"the customer of {cid} is still {stack.emu.agent.get(cid).customer.state}")
        await asyncio.sleep(0.02)


async def test_cancel_while_genesys_fails_the_disconnect(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    stack.emu.faults.server_error(PARTICIPANT, method="PATCH", times=None)
    answer = await stack.say(None, {"payload": "cancel"})
    # The user is back with the bot at once, though Genesys still has the customer.
    assert answer["outputStack"][-1]["text"] == "Handover cancelled."
    assert await stack.handover_statuses() == ["queue", "cancelled"]
    assert (await stack.say("hi"))["outputStack"][0]["text"] == "echo: hi"
    store = stack.store
    assert stack.emu.agent.get(cid).customer.state == "connected"
    assert await store.index_items(PENDING_DISCONNECT) == {cid: "support"}

    await stack.runtime.reconciler.upkeep()  # Genesys still failing: kept
    assert await store.index_items(PENDING_DISCONNECT) == {cid: "support"}
    stack.emu.faults.clear()
    await stack.runtime.reconciler.upkeep()
    assert stack.emu.agent.get(cid).customer.state == "disconnected"
    assert await store.index_items(PENDING_DISCONNECT) == {}


async def test_a_disconnect_genesys_no_longer_knows_is_done(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    stack.emu.faults.server_error(PARTICIPANT, method="PATCH", times=None)
    await stack.say(None, {"payload": "cancel"})
    store = stack.store
    assert await store.index_items(PENDING_DISCONNECT) == {cid: "support"}
    stack.emu.faults.clear()
    stack.emu.faults.not_found(f"/api/v2/conversations/messages/{cid}", times=None)
    await stack.runtime.reconciler.upkeep()
    assert await store.index_items(PENDING_DISCONNECT) == {}




async def test_close_handover_retries_a_failed_disconnect_until_genesys_recovers(make_stack: StackFactory) -> None:
    # The reconciler loop runs every 0.1 s here: it is what retries the disconnect.
    stack = await make_stack(flow=close_on_active_flow(), reconcile_interval=0.1)
    cid = await start_handover(stack)
    rule = stack.emu.faults.server_error(PARTICIPANT, method="PATCH", times=5)
    await stack.emu.agent.accept(cid)
    events = await stack.wait_for(lambda ev: "closed: completed" in texts(ev, "bot"))
    assert [e["status"] for e in events if e["type"] == "handover"] == ["queue", "active", "completed"]
    await wait_disconnected(stack, cid)
    assert rule.hits == 5
