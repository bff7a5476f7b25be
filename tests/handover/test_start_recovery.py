"""A runtime killed (SIGKILL) while a handover starts leaves no Genesys conversation behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp

from extension.testing.emulator import Emulator, EmulatorConfig
from extension.testing.emulator.state import Conversation, TranscriptEntry
from handover.helpers import LONG

from served import ServedRuntime
from stack import HANDOVER_FLOW, runtime_config_text
from support import eventually, free_port

SETTINGS = """
[handover]
retry_attempts = 3
retry_total_seconds = 3
request_timeout_seconds = 2
reconcile_interval_seconds = 0.3
reconcile_idle_seconds = 0
heartbeat_timeout_seconds = 5
"""


class Served(ServedRuntime):
    """The runtime of this test on the SQLite store, talking to the emulator at `emulator_url`."""

    def __init__(self, tmp_path: Path, emulator_url: str, port: int) -> None:
        (tmp_path / "flow.json").write_text(json.dumps(HANDOVER_FLOW))
        config = tmp_path / "start.toml"
        config.write_text(runtime_config_text(emulator_url, store="sqlite:///state.db", port=port,
                                              settings=SETTINGS))
        super().__init__(config, port)

    async def say(self, http: aiohttp.ClientSession, text: str) -> dict[str, Any]:
        body = {"userId": "u1", "sessionId": "s1", "text": text}
        async with http.post(f"{self.base}/support-bot", json=body) as resp:
            return {"status": resp.status, **(await resp.json() if resp.status == 200 else {})}


async def test_sigkill_after_genesys_created_the_conversation(tmp_path: Path) -> None:
    emu = Emulator(EmulatorConfig(webhook_retry_delay=0.05, heartbeat_interval=0.5))
    await emu.start()
    port = free_port()
    emu.config.integrations[0].webhook_url = f"http://127.0.0.1:{port}/handover/genesysCloudOM"
    served = Served(tmp_path, str(emu.base_url), port)
    original = emu.agent.on_inbound

    def kill_on_transcript(conversation: Conversation, entry: TranscriptEntry) -> None:
        original(conversation, entry)
        if len(conversation.transcript) == 2:  # Genesys answered the first message: the id is known
            served.kill()

    emu.agent.on_inbound = kill_on_transcript  # type: ignore[method-assign]
    try:
        async with aiohttp.ClientSession() as http:
            await served.start(http)
            await served.say(http, LONG)
            try:
                await served.say(http, "agent please")
            except aiohttp.ClientError:
                pass  # killed while answering
            [orphan] = emu.agent.conversations()
            assert orphan.customer.state == "connected"
            assert served.proc is not None
            served.proc.wait()
            emu.agent.on_inbound = original  # type: ignore[method-assign]

            await served.start(http)
            await eventually(lambda: orphan.customer.state == "disconnected", "the orphaned conversation disconnected")
            assert orphan.customer.state == "disconnected"
            # The start never committed: the user is with the bot, and a new handover works.
            assert (await served.say(http, "hi"))["outputStack"][0]["text"] == "echo: hi"
            answer = await served.say(http, "agent please")
            assert answer["outputStack"][0]["text"] == "You are being connected to an agent."
            assert [c.state for c in emu.agent.conversations()] == ["ended", "waiting"]
    finally:
        served.kill()
        await emu.stop()
