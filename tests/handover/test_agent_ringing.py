"""`active` means an agent is connected: a conversation that only rings at an agent is still queued."""

from __future__ import annotations

import asyncio

from extension.testing.clock import ManualClock
from extension.testing.emulator import EmulatorConfig

from stack import Stack, StackFactory, manual_clock, past_the_debounce, read_by_the_runtime, start_handover
from support import eventually

FAST_CHECKS = "agent_check_seconds = 0.05"
# Several agent checks and past the stack's end debounce (acw_timeout_seconds 0.3).
A_WHILE = 0.8


def conversation_reads(stack: Stack, cid: str) -> int:
    return len([r for r in stack.emu.requests if r.method == "GET" and r.path.endswith(f"/messages/{cid}")])


async def ring(stack: Stack, cid: str, agent: str) -> None:
    """The conversation rings at `agent`; returns once the runtime watches it between two reads."""
    async with read_by_the_runtime(stack, cid):
        await stack.emu.agent.ring(cid, agent)
    clock = manual_clock(stack)
    await eventually(lambda: clock.asleep(stack.agent_check(cid)), "the agent watch waiting")


async def test_a_ringing_agent_is_not_active_until_they_answer(make_stack: StackFactory) -> None:
    stack = await make_stack(extra=FAST_CHECKS, clock=(clock := ManualClock()))
    cid = await start_handover(stack)

    await ring(stack, cid, "Anna")  # user.start now, the agent has not answered
    await clock.advance(A_WHILE)

    assert await stack.handover_statuses() == ["queue"]
    assert conversation_reads(stack, cid) >= 2  # the runtime looks whether the agent answered
    assert stack.agent_watched(cid)
    # The agent answers without writing anything: an agent is connected, the handover is active.
    await stack.emu.agent.accept(cid, "Anna")
    await clock.advance(0.05)  # the next read
    await stack.wait_status("active")
    assert not stack.agent_watched(cid)


async def test_a_ring_that_times_out_does_not_end_the_handover(make_stack: StackFactory) -> None:
    stack = await make_stack(extra=FAST_CHECKS, clock=(clock := ManualClock()))
    cid = await start_handover(stack)
    await ring(stack, cid, "Anna")

    async with read_by_the_runtime(stack, cid):
        await stack.emu.agent.ring_timeout(cid)  # user.end NO_ANSWER_TRANSFER, back to the queue
    await clock.advance(A_WHILE)

    assert await stack.handover_statuses() == ["queue"]
    assert not stack.agent_watched(cid)
    reads = conversation_reads(stack, cid)
    await clock.advance(0.2)
    assert conversation_reads(stack, cid) == reads  # the watch stopped with the ring
    # The user still reaches the conversation, and the next agent gets it.
    await stack.say("still there?")
    await stack.emu.agent.accept(cid, "Bob")
    await stack.wait_status("active")
    await stack.emu.agent.end(cid)
    await past_the_debounce(stack, cid)
    await stack.wait_status("completed")
    assert await stack.handover_statuses() == ["queue", "active", "completed"]


async def test_the_first_agent_message_makes_the_handover_active(make_stack: StackFactory) -> None:
    # The conversation reads fail: only the agent's message tells that the agent is there.
    stack = await make_stack(extra=FAST_CHECKS)
    cid = await start_handover(stack)
    stack.emu.faults.server_error(f"/api/v2/conversations/messages/{cid}", method="GET", times=None)
    await stack.emu.agent.ring(cid, "Anna")
    await asyncio.sleep(A_WHILE)
    assert await stack.handover_statuses() == ["queue"]

    await stack.emu.agent.accept(cid, "Anna")
    await stack.emu.agent.reply(cid, "Hello, Anna here.")

    await stack.wait_status("active")


async def test_user_start_on_accept_still_makes_the_handover_active(make_stack: StackFactory) -> None:
    stack = await make_stack(emulator_config=EmulatorConfig(
        webhook_retry_delay=0.05, heartbeat_interval=0.5, user_start_on="accept"))
    cid = await start_handover(stack)
    await stack.emu.agent.ring(cid, "Anna")
    await stack.emu.agent.accept(cid, "Anna")
    await stack.wait_status("active")
