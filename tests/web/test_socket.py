"""The socket's message frames: acknowledged after the commit, applied once per id, errors keep it open."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from extension.app import build_app
from extension.config import Config
from extension.manifest import Manifest

Client = Callable[..., Awaitable[TestClient[Any, Any]]]
URL = "/support-bot"
Q = {"userId": "u1", "sessionId": "s1"}
# A flow that never waits for input: the engine gives up with FlowRuntimeError on every input.
RUNAWAY_FLOW = {"name": "runaway", "nodes": [
    {"id": "a", "type": "say", "config": {"text": "again"}},
    {"id": "b", "type": "goTo", "config": {"target": "a"}},
]}


@pytest.fixture
async def client(aiohttp_client: Client, make_config: Callable[..., Config],
                 manifest: Manifest) -> TestClient[Any, Any]:
    return await aiohttp_client(build_app(make_config(), manifest))


async def texts_of(client: TestClient[Any, Any]) -> list[str]:
    resp = await client.get(f"{URL}/events", params=Q)
    return [e["text"] for e in (await resp.json())["events"] if e["type"] == "output"]


async def next_frame(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next frame of `kind`, skipping pushed events."""
    while True:
        frame: dict[str, Any] = await asyncio.wait_for(ws.receive_json(), 10)
        if frame.get("type") == kind:
            return frame


async def test_a_frame_with_an_id_is_acknowledged_and_a_resent_one_applied_once(
        client: TestClient[Any, Any]) -> None:
    first = await client.ws_connect(f"{URL}/socket", params=Q)
    await first.send_json({"type": "message", "id": "m-1", "text": "hi"})
    assert await next_frame(first, "ack") == {"type": "ack", "id": "m-1"}
    # The ack comes after the commit: the answer is already stored.
    assert await texts_of(client) == ["Hello"]
    await first.send_json({"type": "message", "id": "m-2", "text": "once"})
    await next_frame(first, "ack")
    await first.close()

    # The page never saw the ack of m-2 (the socket dropped): it resends it on the next socket.
    second = await client.ws_connect(f"{URL}/socket", params={**Q, "after": "2"})
    await second.send_json({"type": "message", "id": "m-2", "text": "once"})
    assert await next_frame(second, "ack") == {"type": "ack", "id": "m-2"}
    await second.send_json({"type": "message", "id": "m-3", "text": "then this"})
    await next_frame(second, "ack")
    assert await texts_of(client) == ["Hello", "You said: once", "You said: then this"]
    await second.close()


async def test_the_same_id_on_two_sockets_at_once_is_applied_once(client: TestClient[Any, Any]) -> None:
    await client.post(URL, json={**Q, "text": "hi"})
    sockets = [await client.ws_connect(f"{URL}/socket", params={**Q, "after": "1"}) for _ in range(2)]
    for ws in sockets:
        await ws.send_json({"type": "message", "id": "m-same", "text": "race"})
    acks = await asyncio.gather(*(next_frame(ws, "ack") for ws in sockets))
    assert acks == [{"type": "ack", "id": "m-same"}] * 2
    assert await texts_of(client) == ["Hello", "You said: race"]
    for ws in sockets:
        await ws.close()


async def test_frames_without_an_id_still_work_and_get_no_ack(client: TestClient[Any, Any]) -> None:
    ws = await client.ws_connect(f"{URL}/socket", params=Q)
    await ws.send_json({"type": "message", "text": "hi"})
    event = await asyncio.wait_for(ws.receive_json(), 10)
    assert event["type"] == "output" and event["text"] == "Hello"
    await ws.send_json({"type": "message", "text": "hi"})
    event = await asyncio.wait_for(ws.receive_json(), 10)
    assert event["text"] == "You said: hi"  # no ack came in between
    await ws.close()


@pytest.mark.parametrize("frame_id", ["", 7, "x" * 257, "bad\nid"])
async def test_a_bad_id_is_refused_and_nothing_applied(client: TestClient[Any, Any], frame_id: Any) -> None:
    ws = await client.ws_connect(f"{URL}/socket", params=Q)
    await ws.send_json({"type": "message", "id": frame_id, "text": "hi"})
    error = await next_frame(ws, "error")
    assert error == {"type": "error", "error": "id must be a non-empty string of at most 256 characters "
                                               "without control characters"}
    assert await texts_of(client) == []
    await ws.close()


async def test_bad_content_with_an_id_names_the_frame(client: TestClient[Any, Any]) -> None:
    ws = await client.ws_connect(f"{URL}/socket", params=Q)
    await ws.send_json({"type": "message", "id": "m-9", "text": 5})
    assert await next_frame(ws, "error") == {"type": "error", "error": "text must be a string or null", "id": "m-9"}
    assert await texts_of(client) == []
    await ws.close()


async def test_a_failing_flow_answers_an_error_and_keeps_the_socket_open(
        aiohttp_client: Client, make_config: Callable[..., Config], manifest: Manifest) -> None:
    client = await aiohttp_client(build_app(make_config(RUNAWAY_FLOW, handover=False), manifest))
    ws = await client.ws_connect(f"{URL}/socket", params=Q)
    await ws.send_json({"type": "message", "id": "m-1", "text": "hi"})
    error = await next_frame(ws, "error")
    assert error == {"type": "error", "error": "the flow could not handle this input", "id": "m-1"}
    await ws.send_json({"type": "message", "text": "still there?"})
    assert (await next_frame(ws, "error"))["error"] == "the flow could not handle this input"
    assert not ws.closed
    assert await texts_of(client) == []  # nothing of a failed turn is stored
    await ws.close()
