"""SIGKILL at 20 random points of a scripted handover (SQLite store): nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from extension.testing.emulator import Emulator, EmulatorConfig

from .conftest import Ledger
from stack import FLAGS, HANDOVER_FLOW, runtime_config_text
from support import free_port

KILL_POINTS = 20


def write_config(tmp_path: Path, emulator_url: str, port: int) -> Path:
    (tmp_path / "flow.json").write_text(json.dumps(HANDOVER_FLOW))
    path = tmp_path / "kill.toml"
    path.write_text(runtime_config_text(emulator_url, store="sqlite:///state.db", port=port, settings="""
[handover]
retry_attempts = 3
retry_total_seconds = 3
request_timeout_seconds = 2
acw_timeout_seconds = 0.3
reconcile_interval_seconds = 0.5
reconcile_idle_seconds = 1
heartbeat_timeout_seconds = 5
outbox_retry_max_seconds = 0.3
"""))
    return path


class Runtime:
    """`genesys-om serve` as a real process that the test kills and starts again."""

    def __init__(self, config: Path, port: int) -> None:
        self.config = config
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    async def start(self, http: aiohttp.ClientSession) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "extension", "--log-level", "WARNING", "serve",  # noqa: ASYNC220
                                      "--config", str(self.config)], env={**os.environ, **FLAGS},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.starts += 1
        for _ in range(300):
            try:
                async with http.get(f"{self.base}/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.03)
        raise AssertionError("the runtime did not come up")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()


async def say(http: aiohttp.ClientSession, rt: Runtime, text: str) -> dict[str, Any]:
    async with http.post(f"{rt.base}/support-bot", json={"userId": "u1", "sessionId": "s1", "text": text}) as resp:
        assert resp.status == 200
        return dict(await resp.json())


async def events(http: aiohttp.ClientSession, rt: Runtime) -> list[dict[str, Any]]:
    async with http.get(f"{rt.base}/support-bot/events", params={"userId": "u1", "sessionId": "s1"}) as resp:
        return list((await resp.json())["events"])


async def test_sigkill_at_twenty_points(tmp_path: Path, ledger: Ledger) -> None:
    # Genesys retries a webhook for about 25 s; here 40 x 0.25 s, so a slow restart on a busy machine
    # still falls inside the window.
    emu = Emulator(EmulatorConfig(webhook_retry_delay=0.25, webhook_retries=40, heartbeat_interval=0.5))
    await emu.start()
    port = free_port()
    emu.config.integrations[0].webhook_url = f"http://127.0.0.1:{port}/handover/genesysCloudOM"
    rt = Runtime(write_config(tmp_path, str(emu.base_url), port), port)
    rng = random.Random(20261123)
    users: list[str] = []
    agents: list[str] = []
    try:
        async with aiohttp.ClientSession() as http:
            await rt.start(http)
            await say(http, rt, "hello")
            assert (await say(http, rt, "agent"))["outputStack"][0]["text"] == "You are being connected to an agent."
            cid = emu.agent.waiting()[0].id
            await emu.agent.accept(cid)
            for k in range(KILL_POINTS):
                users.append(f"user message {k}")
                await say(http, rt, users[-1])
                agents.append(f"agent message {k}")
                await emu.agent.reply(cid, agents[-1], wait=False)
                # A random moment: the outbox send, the webhook or its receipt may be in flight.
                await asyncio.sleep(rng.uniform(0.0, 0.04))
                rt.kill()
                await rt.start(http)
            for _ in range(1000):
                got_users = {m.text for m in emu.inbound_messages(cid)}
                got_agents = {e.get("text") for e in await events(http, rt) if e.get("source") == "agent"}
                if set(users) <= got_users and set(agents) <= got_agents:
                    break
                await asyncio.sleep(0.02)
            await emu.settle()
            await emu.agent.end(cid)
            for _ in range(500):
                log = await events(http, rt)
                if any(e.get("type") == "handover" and e.get("status") == "completed" for e in log):
                    break
                await asyncio.sleep(0.02)
            log = await events(http, rt)
    finally:
        rt.stop()
        await emu.stop()
    assert [e["text"] for e in log if e.get("type") == "output"][-1] == "Back with the bot."
    inbound = [m for m in emu.inbound_messages(cid) if m.text in users]
    ids_by_text: dict[str, set[str]] = {}
    for m in inbound:
        ids_by_text.setdefault(m.text or "", set()).add(m.message_id or "")
    user_lost = [u for u in users if u not in ids_by_text]
    user_doubled = sum(len(ids) - 1 for ids in ids_by_text.values())
    order = list(dict.fromkeys(m.text for m in inbound))
    agent_counts = Counter(e["text"] for e in log if e.get("source") == "agent")
    agent_lost = [a for a in agents if agent_counts[a] == 0]
    agent_doubled = sum(n - 1 for a, n in agent_counts.items() if a in agents and n > 1)
    ledger.record(f"SIGKILL at {KILL_POINTS} random points (SQLite), restarted each time",
                  "kill -9 of the runtime process", user=(len(users), len(user_lost), user_doubled),
                  agent=(len(agents), len(agent_lost), agent_doubled))
    assert rt.starts == KILL_POINTS + 1
    assert not user_lost and user_doubled == 0 and order == users
    outcomes = [(d.body.get("text"), d.outcome, d.attempts) for d in emu.sent_webhooks(cid)
                if d.body.get("text") in agent_lost]
    assert not agent_lost and agent_doubled == 0, outcomes
