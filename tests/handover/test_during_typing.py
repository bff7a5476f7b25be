"""User typing during a handover: forwarded to Genesys at most once per 5 s per session (docs/CONTRACT.md 6.2)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from handover.helpers import barrier, typing_requests

from stack import StackFactory, start_handover


class Clock:
    """Real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def time(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The clocks of the provider's typing limit and of the store's claims, both movable."""
    from extension.providers.genesys_om import provider
    from extension.store import memory

    moved = Clock()
    # Only these modules' view of time moves: the event loop and everything else keep real time.
    monkeypatch.setattr(provider, "time", SimpleNamespace(monotonic=moved.monotonic, time=time.time))
    monkeypatch.setattr(memory, "time", SimpleNamespace(time=moved.time))
    return moved






async def test_typing_is_forwarded_again_after_the_interval(make_stack: StackFactory, clock: Clock) -> None:
    stack = await make_stack()
    await start_handover(stack)
    ws = await stack.client.ws_connect("/support-bot/socket", params={"userId": "u1", "sessionId": "s1"})
    for _ in range(3):
        await ws.send_json({"type": "typing"})
    await barrier(ws, 1, stack)
    assert len(typing_requests(stack)) == 1

    clock.offset += 4.9  # still inside the 5 s interval
    await ws.send_json({"type": "typing"})
    await barrier(ws, 2, stack)
    assert len(typing_requests(stack)) == 1

    clock.offset += 0.2  # past it
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
