"""A socket whose event feed fails for a moment (a Redis restart) resumes; it is never left silent."""

from __future__ import annotations

from typing import Any

import pytest

from extension import keys
from extension.store import StoreError

from stack import StackFactory


async def test_a_socket_feed_that_fails_for_a_moment_resumes_from_its_last_seq(
        make_stack: StackFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding 8: the store's reads fail, then answer again: the open socket gets the next events."""
    stack = await make_stack()
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
    while True:
        frame = await ws.receive_json(timeout=15)
        if frame.get("text") == "echo: after the blip":
            break
    assert failures == 5
    assert frame["seq"] > max(e["seq"] for e in seen)
    assert not ws.closed
    await ws.close()
