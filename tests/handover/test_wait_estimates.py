"""An honest wait: while queued, the user is told Genesys' estimated wait, at a bounded rate."""

from __future__ import annotations

from typing import Any

from extension.testing.clock import ManualClock
from extension.testing.emulator import EmulatorConfig

from stack import Stack, StackFactory, start_handover
from support import eventually, eventually_advancing

PATH = "/estimatedwaittime"


def estimates(events: list[dict[str, Any]]) -> list[int]:
    return [e["estimatedWaitSeconds"] for e in events if e["type"] == "handover" and "estimatedWaitSeconds" in e]


def asked(stack: Stack) -> int:
    return sum(1 for r in stack.emu.requests if r.path.endswith(PATH))


async def test_a_queued_user_hears_the_estimate_and_a_change_of_it_until_an_agent_joins(
        make_stack: StackFactory) -> None:
    clock = ManualClock()
    stack = await make_stack(clock=clock, wait_estimate=30)
    first = await start_handover(stack, user="u1")
    await eventually(lambda: _estimates_of(stack, "u1", [90]), "the first user's estimate")
    await start_handover(stack, user="u2")
    # Second in the queue: twice the emulator's handle time.
    await eventually(lambda: _estimates_of(stack, "u2", [180]), "the second user's estimate")
    calls = asked(stack)
    await clock.advance(30)
    await eventually(lambda: asked(stack) >= calls + 2, "the next asks")
    # The same estimate again tells nobody anything.
    assert estimates(await stack.events("u1")) == [90] and estimates(await stack.events("u2")) == [180]
    await stack.emu.agent.accept(first)
    await stack.wait_for(lambda ev: any(e.get("status") == "active" for e in ev), user="u1")
    await eventually_advancing(clock, lambda: _estimates_of(stack, "u2", [180, 90]), "the second user moving up",
                               step=30)
    # The first user's loop ended with the queue: no estimate after the agent joined.
    assert estimates(await stack.events("u1")) == [90]


async def _estimates_of(stack: Stack, user: str, wanted: list[int]) -> bool:
    return estimates(await stack.events(user)) == wanted


async def test_genesys_is_asked_at_most_once_per_interval_per_handover(make_stack: StackFactory) -> None:
    clock = ManualClock()
    stack = await make_stack(clock=clock, wait_estimate=30)
    await start_handover(stack)
    await eventually(lambda: asked(stack) == 1, "the first ask")
    for _ in range(10):
        await clock.advance(10)
    # 100 s on a 30 s interval: the first ask and three more, never one per step.
    await eventually(lambda: asked(stack) == 4, "the asks of 100 s")
    await clock.advance(5)
    assert asked(stack) == 4


async def test_without_an_estimate_nothing_is_shown(make_stack: StackFactory) -> None:
    clock = ManualClock()
    stack = await make_stack(clock=clock, wait_estimate=30, emulator_config=EmulatorConfig(
        webhook_retry_delay=0.05, heartbeat_interval=0.5, estimated_handle_seconds=None))
    await start_handover(stack)
    await eventually(lambda: asked(stack) == 1, "the ask")
    await clock.advance(30)
    await eventually(lambda: asked(stack) == 2, "the next ask")
    assert estimates(await stack.events()) == []


async def test_off_with_zero(make_stack: StackFactory) -> None:
    stack = await make_stack(wait_estimate=0)
    await start_handover(stack)
    assert asked(stack) == 0 and estimates(await stack.events()) == []
