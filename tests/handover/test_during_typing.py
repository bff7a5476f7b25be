"""User typing during a handover: forwarded to Genesys at most once per 5 s per session (docs/CONTRACT.md 6.2)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from extension.testing.clock import ManualClock
from handover.helpers import barrier, typing_requests

from stack import StackFactory, start_handover


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    """The runtime's clock (the provider's typing limit), with the memory store's claims moved along."""
    from extension.store import memory

    clock = ManualClock()
    # The store keeps real time plus what the test advanced: the event loop keeps real time.
    monkeypatch.setattr(memory, "time", SimpleNamespace(time=lambda: time.time() + clock.monotonic()))
    return clock


async def test_typing_is_forwarded_again_after_the_interval(make_stack: StackFactory, clock: ManualClock) -> None:
    stack = await make_stack(clock=clock)
    await start_handover(stack)
    ws = await stack.client.ws_connect("/support-bot/socket", params={"userId": "u1", "sessionId": "s1"})
    for _ in range(3):
        await ws.send_json({"type": "typing"})
    await barrier(ws, 1, stack)
    assert len(typing_requests(stack)) == 1

    await clock.advance(4.9)  # still inside the 5 s interval
    await ws.send_json({"type": "typing"})
    await barrier(ws, 2, stack)
    assert len(typing_requests(stack)) == 1

    await clock.advance(0.2)  # past it
    await ws.send_json({"type": "typing"})
    await ws.send_json({"type": "typing"})
    await barrier(ws, 3, stack)
    forwarded = typing_requests(stack)
    assert len(forwarded) == 2
    assert forwarded[1].json["events"] == [{"eventType": "Typing"}] and forwarded[1].status == 200
    assert forwarded[1].json["channel"]["from"]["id"] == forwarded[0].json["channel"]["from"]["id"]
    await ws.close()


async def test_the_interval_is_per_session(make_stack: StackFactory) -> None:
    stack = await make_stack()
    await start_handover(stack, user="u1")
    await start_handover(stack, user="u2")
    sockets = [await stack.client.ws_connect("/support-bot/socket", params={"userId": u, "sessionId": "s1"})
               for u in ("u1", "u2")]
    for n, ws in enumerate(sockets):
        await ws.send_json({"type": "typing"})
        await barrier(ws, n, stack)
    senders = {r.json["channel"]["from"]["id"] for r in typing_requests(stack)}
    assert len(typing_requests(stack)) == 2 and len(senders) == 2
    for ws in sockets:
        await ws.close()
