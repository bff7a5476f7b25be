"""The transfer debounce (docs/CONTRACT.md 7.3): notification events injected one by one, not in pairs.

The stack runs on a ManualClock: time stands still between two injected events (back to back for
the debounce, whatever the loop does), and moves only when a test advances it past the debounce.
"""

from __future__ import annotations

import pytest

from extension.testing.clock import ManualClock

from stack import (
    Stack,
    StackFactory,
    debounce_armed,
    manual_clock,
    past_the_debounce,
    read_by_the_runtime,
    start_handover,
    texts,
)

# Longer than the stack's acw_timeout_seconds (0.3): a debounce that was started has fired by then.
PAST_THE_DEBOUNCE = 1.0


async def inject(stack: Stack, cid: str, *events: tuple[str, str | None]) -> None:
    """Publish (kind, disconnectType) events of the agent one after the other, each read by the runtime
    before the next is sent (no clock time passes meanwhile)."""
    conversation = stack.emu.agent.get(cid)
    assert conversation.agent is not None, "the conversation has no agent"
    for kind, disconnect_type in events:
        async with read_by_the_runtime(stack, cid):
            await stack.emu.router.emit(conversation, kind, conversation.agent, disconnect_type)
            published = stack.emu.published_events(f"v2.detail.events.conversation.{cid}.{kind}")[-1]
            assert published.delivered_to, f"{kind} reached no notifications channel"


async def active_handover(make_stack: StackFactory, **options: str) -> tuple[Stack, str]:
    stack = await make_stack(clock=ManualClock(), **options)
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid, "Anna")
    await stack.wait_status("active")
    return stack, cid


async def end_by_the_agent(stack: Stack, cid: str) -> list[dict[str, object]]:
    await stack.emu.agent.end(cid)
    await past_the_debounce(stack, cid)
    return await stack.wait_status("completed")


@pytest.mark.parametrize("disconnect_type", ["TRANSFER", "CONSULT_TRANSFER", "NO_ANSWER_TRANSFER"])
async def test_transfer_end_without_a_new_agent_does_not_end_the_handover(
        make_stack: StackFactory, disconnect_type: str) -> None:
    stack, cid = await active_handover(make_stack)
    await inject(stack, cid, ("user.end", disconnect_type))
    assert stack.pending_end(cid) is None, "a transfer started the end debounce"
    await manual_clock(stack).advance(PAST_THE_DEBOUNCE)  # no user.start follows
    assert "completed" not in await stack.handover_statuses()
    # The handover still carries messages both ways, and a real end still ends it.
    await stack.emu.agent.reply(cid, "still here")
    await stack.wait_for(lambda ev: "still here" in texts(ev, "agent"))
    events = await end_by_the_agent(stack, cid)
    assert texts(events)[-1] == "Back with the bot."


async def test_client_end_followed_by_a_start_within_the_debounce_does_not_end(make_stack: StackFactory) -> None:
    stack, cid = await active_handover(make_stack)
    # Back to back, as Genesys sends them when the next agent answers at once.
    await inject(stack, cid, ("user.end", "CLIENT"), ("user.start", None))
    await manual_clock(stack).advance(PAST_THE_DEBOUNCE)
    assert "completed" not in await stack.handover_statuses()
    assert stack.pending_end(cid) is None
    await stack.emu.agent.reply(cid, "the next agent")
    await stack.wait_for(lambda ev: "the next agent" in texts(ev, "agent"))


async def test_client_end_without_a_start_ends_after_the_debounce(make_stack: StackFactory) -> None:
    stack, cid = await active_handover(make_stack)
    await inject(stack, cid, ("user.end", "CLIENT"))
    await debounce_armed(stack, cid)
    await manual_clock(stack).advance(stack.acw_timeout - 0.01)
    assert stack.pending_end(cid) is not None
    assert "completed" not in await stack.handover_statuses()
    await manual_clock(stack).advance(0.01)
    events = await stack.wait_status("completed")
    assert texts(events)[-1] == "Back with the bot."
    assert stack.pending_end(cid) is None


async def test_http_transfer_end_event_goes_through_the_same_debounce(make_stack: StackFactory) -> None:
    key = "end-handover-key-0123456789"
    stack, cid = await active_handover(make_stack, connection_extra=f'endHandoverApiKey = "{key}"')
    body = {"conversationId": cid, "topic": f"v2.detail.events.conversation.{cid}.user.end",
            "disconnectType": "TRANSFER"}
    resp = await stack.client.post("/handover/genesysCloudOM", json=body, headers={"Authorization": f"Bearer {key}"})
    assert resp.status == 200
    await manual_clock(stack).advance(PAST_THE_DEBOUNCE)
    assert "completed" not in await stack.handover_statuses()
    body["disconnectType"] = "CLIENT"
    resp = await stack.client.post("/handover/genesysCloudOM", json=body, headers={"Authorization": f"Bearer {key}"})
    assert resp.status == 200
    await past_the_debounce(stack, cid)
    await stack.wait_status("completed")
