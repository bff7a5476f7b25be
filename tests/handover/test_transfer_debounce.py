"""The transfer debounce (docs/CONTRACT.md 7.3): notification events injected one by one, not in pairs."""

from __future__ import annotations

import asyncio

import pytest

from stack import Stack, StackFactory, start_handover, texts

# Longer than the stack's acw_timeout_seconds (0.3): a debounce that was started has fired by then.
PAST_THE_DEBOUNCE = 1.0


async def inject(stack: Stack, cid: str, *events: tuple[str, str | None]) -> None:
    """Publish (kind, disconnectType) events of the agent back to back; wait until the runtime reads them."""
    ending = stack.runtime.ending
    conversation = stack.emu.agent.get(cid)
    assert conversation.agent is not None, "the conversation has no agent"
    sent_at = 0.0
    for kind, disconnect_type in events:
        # Every event read refreshes the conversation's last signal (monotonic, as the loop's clock):
        # a refresh after the last event was sent shows the runtime reading these events.
        sent_at = asyncio.get_running_loop().time()
        await stack.emu.router.emit(conversation, kind, conversation.agent, disconnect_type)
        published = stack.emu.published_events(f"v2.detail.events.conversation.{cid}.{kind}")[-1]
        assert published.delivered_to, f"{kind} reached no notifications channel"
    for _ in range(1000):
        if ending.last_signal.get(cid, 0.0) >= sent_at:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the runtime never read {events[-1][0]}")


async def active_handover(stack: Stack) -> str:
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid, "Anna")
    await stack.wait_status("active")
    return cid


@pytest.mark.parametrize("disconnect_type", ["TRANSFER", "CONSULT_TRANSFER", "NO_ANSWER_TRANSFER"])
async def test_transfer_end_without_a_new_agent_does_not_end_the_handover(
        make_stack: StackFactory, disconnect_type: str) -> None:
    stack = await make_stack()
    cid = await active_handover(stack)
    await inject(stack, cid, ("user.end", disconnect_type))
    assert cid not in stack.runtime.ending._pending, "a transfer started the end debounce"
    await asyncio.sleep(PAST_THE_DEBOUNCE)  # no user.start follows
    assert "completed" not in await stack.handover_statuses()
    # The handover still carries messages both ways, and a real end still ends it.
    await stack.emu.agent.reply(cid, "still here")
    await stack.wait_for(lambda ev: "still here" in texts(ev, "agent"))
    await stack.emu.agent.end(cid)
    events = await stack.wait_status("completed")
    assert texts(events)[-1] == "Back with the bot."


async def test_client_end_followed_by_a_start_within_the_debounce_does_not_end(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await active_handover(stack)
    # Back to back, as Genesys sends them when the next agent answers at once.
    await inject(stack, cid, ("user.end", "CLIENT"), ("user.start", None))
    await asyncio.sleep(PAST_THE_DEBOUNCE)
    assert "completed" not in await stack.handover_statuses()
    assert cid not in stack.runtime.ending._pending
    await stack.emu.agent.reply(cid, "the next agent")
    await stack.wait_for(lambda ev: "the next agent" in texts(ev, "agent"))


async def test_client_end_without_a_start_ends_after_the_debounce(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await active_handover(stack)
    # A wider window than the stack's 0.3 s, so the "not yet" check below cannot race the timer.
    stack.runtime.ending.acw_timeout = 2.0
    await inject(stack, cid, ("user.end", "CLIENT"))
    assert cid in stack.runtime.ending._pending
    assert "completed" not in await stack.handover_statuses()
    events = await stack.wait_status("completed")
    assert texts(events)[-1] == "Back with the bot."
    assert cid not in stack.runtime.ending._pending


async def test_http_transfer_end_event_goes_through_the_same_debounce(make_stack: StackFactory) -> None:
    key = "end-handover-key-0123456789"
    stack = await make_stack(connection_extra=f'endHandoverApiKey = "{key}"')
    cid = await active_handover(stack)
    body = {"conversationId": cid, "topic": f"v2.detail.events.conversation.{cid}.user.end",
            "disconnectType": "TRANSFER"}
    resp = await stack.client.post("/handover/genesysCloudOM", json=body, headers={"Authorization": f"Bearer {key}"})
    assert resp.status == 200
    await asyncio.sleep(PAST_THE_DEBOUNCE)
    assert "completed" not in await stack.handover_statuses()
    body["disconnectType"] = "CLIENT"
    resp = await stack.client.post("/handover/genesysCloudOM", json=body, headers={"Authorization": f"Bearer {key}"})
    assert resp.status == 200
    await stack.wait_status("completed")
