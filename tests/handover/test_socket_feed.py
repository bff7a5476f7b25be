"""A socket whose event feed fails for a moment (a Redis restart) resumes; it is never left silent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from extension import keys
from extension.store import StoreError
from extension.testing.clock import ManualClock

from stack import StackFactory
from support import eventually, while_advancing


async def test_a_socket_feed_that_fails_for_a_moment_resumes_from_its_last_seq(
        make_stack: StackFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding 8: the store's reads fail, then answer again: the open socket gets the next events."""
    # The feed's pauses between tries run on the runtime's clock; once it reads again it waits for events
    # (not on the clock), so an advance need not wait long for it.
    clock = ManualClock(settle=0.1)
    stack = await make_stack(clock=clock)
    await stack.say("hello")
    ws = await stack.client.ws_connect("/support-bot/socket", params={"userId": "u1", "sessionId": "s1"})
    seen = [await ws.receive_json(timeout=10)]  # "Hi, I am the bot."
    store = stack.client.app[keys.STORE]
    real = store._read_events
    failures = 0

    async def flaky(key: str, after: int, limit: int) -> list[dict[str, Any]]:
        nonlocal failures
        if failures < 5:
            failures += 1
            raise StoreError("Redis failed: ConnectionError")
        return await real(key, after, limit)

    monkeypatch.setattr(store, "_read_events", flaky)
    await stack.say("after the blip")

    async def the_echo() -> dict[str, Any]:
        while True:
            frame: dict[str, Any] = await ws.receive_json(timeout=15)
            if frame.get("text") == "echo: after the blip":
                return frame

    reading = asyncio.ensure_future(the_echo())
    await eventually(lambda: failures == 1, "the first failed read")
    await clock.advance(0.05)
    assert not reading.done() and failures == 1  # it waits out its pause before the next try
    frame = await while_advancing(clock, reading, step=0.1)
    assert failures == 5
    assert clock.monotonic() >= 0.1 + 0.2 + 0.4 + 0.8  # the pauses doubled between the tries
    assert frame["seq"] > max(e["seq"] for e in seen)
    assert not ws.closed
    await ws.close()
