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

from served import wait_ready
from support import ECHO_FLOW, config_text, free_port

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
