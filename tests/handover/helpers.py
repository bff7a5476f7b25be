"""Handover test helpers shared by several modules: timings, fault shapes and small scripted steps."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from extension.testing.emulator.state import Conversation, TranscriptEntry

from stack import HANDOVER_FLOW, Stack

INBOUND = "/api/v2/conversations/messages/*/inbound/open/message"


# Long enough that the transcript takes several inbound messages.
LONG = "hello " * 800


def when_created(stack: Stack, callback: Callable[[Conversation], None]) -> None:
    """Call `callback` as the emulator creates a conversation (before it answers the first message)."""
    original = stack.emu.agent.on_inbound
    created: set[str] = set()

    def hook(conversation: Conversation, entry: TranscriptEntry) -> None:
        original(conversation, entry)
        if conversation.id not in created:
            created.add(conversation.id)
            callback(conversation)

    stack.emu.agent.on_inbound = hook  # type: ignore[method-assign]


def hold_inbound(stack: Stack, gate: Callable[[], Awaitable[None]]) -> None:
    """From now on, each inbound message waits for `gate` before the emulator takes it."""
    stack.emu.faults.slow(INBOUND, 0.001)

    async def held(_: float) -> None:
        await asyncio.wait_for(gate(), 10)

    stack.emu.faults.sleep = held


PARTICIPANT = "/api/v2/conversations/messages/*/participants/*"


def close_on_active_flow() -> dict[str, Any]:
    nodes = [dict(n) for n in HANDOVER_FLOW["nodes"]]
    for n in nodes:
        if n["id"] == "handover":
            n["config"] = {**n["config"], "sendActiveEvent": True}
        if n["id"] == "active":
            n["next"] = "close"
    nodes.append({"id": "close", "type": "closeHandover", "next": "closed"})
    nodes.append({"id": "closed", "type": "say", "config": {"text": "closed: {{input.handover.status}}"},
                  "next": "wait"})
    return {"name": "close-on-active", "nodes": nodes}


# The sweeper is off unless a test turns it on: expiry is driven by hand where timing matters.
NO_SWEEPER = "session_idle_seconds = 0"


async def delete(stack: Stack, user: str = "u1", session: str = "s1") -> tuple[int, dict[str, Any] | None]:
    resp = await stack.client.delete(f"/{stack.token}/session", params={"userId": user, "sessionId": session})
    return resp.status, (await resp.json() if resp.status != 204 else None)


async def start(stack: Stack, user: str) -> str:
    """Start a handover for `user`; its conversation id (it may not be subscribed)."""
    known = {c.id for c in stack.emu.agent.waiting() + stack.emu.agent.active()}
    await stack.say("hello", user=user)
    answer = await stack.say("I want an agent", user=user)
    assert answer["outputStack"][0]["text"] == "You are being connected to an agent."
    new = [c.id for c in stack.emu.agent.waiting() if c.id not in known]
    assert len(new) == 1
    return new[0]


def lines(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return len([r for r in caplog.records if text in r.getMessage()])


async def end_by_agent(stack: Stack, cid: str, user: str) -> None:
    await stack.emu.agent.accept(cid)
    await stack.emu.agent.end(cid)
    if stack.emu.agent.get(cid).state != "ended":
        await stack.emu.agent.customer_end(cid)
    await stack.wait_status("completed", user=user)


def typing_requests(stack: Stack) -> list[Any]:
    return [r for r in stack.emu.requests if r.path.endswith("/inbound/open/event")]


async def barrier(ws: Any, n: int, stack: Stack | None = None) -> None:
    """Frames of one socket are handled in order: once this message is acknowledged, the typings before it were
    decided (sent or not); the typing events they started are then awaited (they do not hold the frames up)."""
    frame_id = f"barrier-{n}"
    await ws.send_json({"type": "message", "text": f"barrier {n}", "id": frame_id})
    while True:
        frame = await ws.receive_json(timeout=10)
        if frame.get("type") == "ack" and frame.get("id") == frame_id:
            break
    if stack is not None:
        await stack.typing_sent()


def with_handover_config(**changes: Any) -> dict[str, Any]:
    nodes = [dict(n) for n in HANDOVER_FLOW["nodes"]]
    for n in nodes:
        if n["id"] == "handover":
            n["config"] = {**n["config"], **changes}
    return {"name": "h", "nodes": nodes}
