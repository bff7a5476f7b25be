"""Round trip user -> emulator auto-reply -> webhook -> the user's WebSocket, per message minus the emulator."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from extension.genesys.messages import inbound_text
from extension.testing.emulator import Emulator
from extension.testing.emulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_INTEGRATION_ID,
    EmulatorConfig,
)

from . import procs
from .load import percentile

WEBHOOK = "/handover/genesysCloudOM"
INBOUND = f"/api/v2/conversations/messages/{DEFAULT_INTEGRATION_ID}/inbound/open/message"


def emulator_instants(emulator: Emulator, marker: str) -> tuple[float, float]:
    """When one message reached the emulator, and when its auto-reply webhook left it.

    Both come from the emulator's own records (request log, webhook attempts), on the clock the
    caller's timing uses too (this process), so each message is paired with its own figures.
    """
    arrived = next(r.time for r in reversed(emulator.requests)
                   if r.path == INBOUND and isinstance(r.json, dict) and r.json.get("text") == marker)
    reply = f"Echo: {marker}"
    sent = next(d.attempts[0].time for d in reversed(emulator.webhooks.sent)
                if d.body.get("text") == reply and d.attempts)
    return arrived, sent


async def bench_roundtrip(count: int, workdir: Path) -> dict[str, float]:
    # The emulator runs in this process, so its records are read directly (and on the same clock).
    emulator = Emulator(EmulatorConfig(auto_reply=True))
    url = await emulator.start()
    try:
        with procs.runtime("memory://", url, workdir=workdir / "roundtrip", name="runtime-roundtrip") as rt:
            emulator.update_integration(DEFAULT_INTEGRATION_ID, webhook_url=rt.url + WEBHOOK)
            full, own, inbound, outbound = await _through_runtime(rt.url, emulator, count)
        alone = await _emulator_only(emulator, url, count)
    finally:
        await emulator.stop()
    overhead = [f - e for f, e in zip(full, own, strict=True)]
    return {"count": float(count), "inbound_p50": percentile(inbound, 50), "outbound_p50": percentile(outbound, 50),
            "full_p50": percentile(full, 50), "full_p99": percentile(full, 99),
            "own_p50": percentile(own, 50), "own_p99": percentile(own, 99),
            "overhead_p50": percentile(overhead, 50), "overhead_p99": percentile(overhead, 99),
            "alone_p50": percentile(alone, 50), "alone_p99": percentile(alone, 99)}


async def _through_runtime(rt: str, emulator: Emulator, count: int) -> tuple[list[float], ...]:
    """Per message: the full round trip, the emulator's own time, and the runtime's two legs."""
    full: list[float] = []
    own: list[float] = []
    inbound: list[float] = []  # the user's frame sent until the message reaches the emulator
    outbound: list[float] = []  # the webhook leaves the emulator until the user's socket has it
    async with aiohttp.ClientSession() as session:
        params = {"userId": "rt-user", "sessionId": "s", "after": "0"}
        async with session.ws_connect(f"{rt}/bench/socket", params=params) as ws:
            await ws.send_json({"type": "message", "text": "hello"})
            await _until(ws, lambda e: e.get("type") == "output")
            await ws.send_json({"type": "message", "text": "agent please"})
            await _until(ws, lambda e: e.get("type") == "handover" and e.get("status") == "queue")
            await ws.send_json({"type": "message", "text": "warm-up"})
            await _until(ws, lambda e: e.get("source") == "agent" and "warm-up" in (e.get("text") or ""))
            for i in range(count):
                marker = f"ping {i}"
                t0 = time.time()
                await ws.send_json({"type": "message", "text": marker})
                await _until(ws, _agent_said(f"Echo: {marker}"))
                t1 = time.time()
                arrived, sent = emulator_instants(emulator, marker)
                full.append(t1 - t0)
                own.append(sent - arrived)
                inbound.append(arrived - t0)
                outbound.append(t1 - sent)
    return full, own, inbound, outbound


def _agent_said(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e.get("source") == "agent" and e.get("text") == text


async def _until(ws: aiohttp.ClientWebSocketResponse, predicate: Callable[[dict[str, Any]], bool]) -> None:
    while True:
        event = await ws.receive_json(timeout=30)
        if predicate(event):
            return


async def _emulator_only(emulator: Emulator, emu: str, count: int) -> list[float]:
    """The same exchange with a bare receiver in place of the runtime (a reference, not subtracted)."""
    waiting: dict[str, asyncio.Future[None]] = {}

    async def receive(request: web.Request) -> web.Response:
        body = await request.json()
        future = waiting.pop(str(body.get("text") or ""), None)
        if future is not None and not future.done():
            future.set_result(None)
        return web.json_response({})

    app = web.Application()
    app.router.add_post(WEBHOOK, receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = procs.free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    emulator.update_integration(DEFAULT_INTEGRATION_ID, webhook_url=f"http://127.0.0.1:{port}{WEBHOOK}")
    out: list[float] = []
    try:
        async with aiohttp.ClientSession() as session:
            basic = base64.b64encode(f"{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}".encode()).decode()
            async with session.post(f"{emu}/oauth/token", data={"grant_type": "client_credentials"},
                                    headers={"Authorization": f"Basic {basic}"}) as r:
                token = (await r.json())["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            for i in range(count + 1):
                marker = f"alone {i}"
                future = waiting[f"Echo: {marker}"] = asyncio.get_running_loop().create_future()
                t0 = time.time()
                async with session.post(emu + INBOUND, json=inbound_text(f"m-{i}", "emulator-only", marker),
                                        headers=headers) as resp:
                    await resp.read()
                await asyncio.wait_for(future, 30)
                if i:  # the first one also opens the conversation and accepts it
                    out.append(time.time() - t0)
    finally:
        await runner.cleanup()
    return out
