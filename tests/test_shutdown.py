"""SIGTERM and SIGINT under `serve`: long-polls answered at once, sockets closed with 1001, a quick exit."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from extension.testing.emulator import Emulator, EmulatorConfig

from served import wait_ready
from stack import FLAGS, HANDOVER_FLOW, HANDOVER_SETTINGS, runtime_config_text
from support import ECHO_FLOW, config_text, eventually, free_port

# Generous for a loaded machine; the runtime itself takes well under a second (it took 30 s, the
# long-poll's whole wait, before pending reads were answered on shutdown).
EXIT_BOUND_SECONDS = 10.0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_answers_long_polls_closes_sockets_and_exits_quickly(tmp_path: Path, signum: int) -> None:
    port = free_port()
    (tmp_path / "flow.json").write_text(json.dumps(ECHO_FLOW))
    config = tmp_path / "config.toml"
    config.write_text(config_text(store="sqlite:///state.db", handover=False).replace("port = 8080", f"port = {port}"))
    proc = subprocess.Popen([sys.executable, "-m", "extension", "serve", "--config", str(config)],  # noqa: ASYNC220
                            cwd=tmp_path, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/support-bot"
    try:
        async with aiohttp.ClientSession() as http:
            await wait_ready(http, f"http://127.0.0.1:{port}", proc, "the runtime", attempts=750)
            async with http.post(base, json={"userId": "u1", "sessionId": "s1", "text": "hi"}) as resp:
                assert resp.status == 200
            async with http.get(f"{base}/events", params={"userId": "u1", "sessionId": "s1"}) as resp:
                after = (await resp.json())["next"]
            session = {"userId": "u1", "sessionId": "s1", "after": str(after)}
            ws = await http.ws_connect(f"{base}/socket", params=session)
            poll = asyncio.ensure_future(http.get(f"{base}/events", params={**session, "wait": "30"}))
            await asyncio.sleep(0.5)  # both are waiting in the runtime now
            assert not poll.done()

            sent = time.monotonic()
            proc.send_signal(signum)
            answer = await asyncio.wait_for(poll, EXIT_BOUND_SECONDS)
            assert answer.status == 200
            assert await answer.json() == {"events": [], "next": after}
            closing = await asyncio.wait_for(ws.receive(), EXIT_BOUND_SECONDS)
            assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 1001
            await ws.close()
            while proc.poll() is None:
                assert time.monotonic() - sent < EXIT_BOUND_SECONDS, "serve did not exit in time"
                await asyncio.sleep(0.02)
        took = time.monotonic() - sent
        assert proc.returncode == 0
        assert took < EXIT_BOUND_SECONDS
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        assert [line for line in stderr.splitlines() if "stopped in" in line], stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_a_turn_in_flight_at_the_signal_commits(tmp_path: Path) -> None:
    emu = Emulator(EmulatorConfig(webhook_retry_delay=0.05, heartbeat_interval=0.5))
    await emu.start()
    port = free_port()
    (tmp_path / "flow.json").write_text(json.dumps(HANDOVER_FLOW))
    config = tmp_path / "config.toml"
    config.write_text(runtime_config_text(str(emu.base_url), store="sqlite:///state.db", port=port,
                                          settings=HANDOVER_SETTINGS.format(reconcile_interval=3600, watchdog=5,
                                                                            wait_estimate=0, acw_timeout=0.3)))
    proc = subprocess.Popen([sys.executable, "-m", "extension", "serve", "--config", str(config)],  # noqa: ASYNC220
                            cwd=tmp_path, env={**os.environ, **FLAGS}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/support-bot"
    try:
        async with aiohttp.ClientSession() as http:
            await wait_ready(http, f"http://127.0.0.1:{port}", proc, "the runtime", attempts=750)
            session = {"userId": "u1", "sessionId": "s1"}
            async with http.post(base, json={**session, "text": "hi"}) as resp:
                assert resp.status == 200
            # The handover start waits a second for Genesys: the signal comes in the middle of it.
            emu.faults.slow("/api/v2/conversations/messages/*", seconds=1.0, times=1)
            turn = asyncio.ensure_future(http.post(base, json={**session, "text": "agent"}))
            await eventually(lambda: any(r.path.endswith("/inbound/open/message") for r in emu.requests),
                             "the handover start reaches Genesys", every=0.01)
            proc.send_signal(signal.SIGTERM)
            answer = await asyncio.wait_for(turn, EXIT_BOUND_SECONDS)
            assert answer.status == 200
            assert [o["text"] for o in (await answer.json())["outputStack"]] == ["You are being connected to an agent."]
            await asyncio.to_thread(proc.wait, EXIT_BOUND_SECONDS)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        await emu.stop()


async def test_a_stopping_store_answers_waiting_reads_at_once() -> None:
    from extension.store.memory import MemoryStore

    store = MemoryStore()
    await store.open()
    waiting = asyncio.ensure_future(store.read_events("k", 0, wait=30))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    store.stop_waiting()
    assert await asyncio.wait_for(waiting, EXIT_BOUND_SECONDS) == []
    assert await asyncio.wait_for(store.read_events("k", 0, wait=30), EXIT_BOUND_SECONDS) == []
    await store.close()
