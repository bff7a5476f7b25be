"""`serve --log-format json` and `[server] access_log`, read from the process's stderr line by line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from extension.logs import redacted
from extension.testing.emulator import Emulator, EmulatorConfig
from extension.testing.emulator.config import DEFAULT_CLIENT_SECRET, DEFAULT_WEBHOOK_SECRET

from served import wait_ready
from stack import FLAGS, HANDOVER_FLOW, HANDOVER_SETTINGS, runtime_config_text
from support import eventually, free_port


async def serve(tmp_path: Path, emu: Emulator, *args: str,
                server_extra: str = "") -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    (tmp_path / "flow.json").write_text(json.dumps(HANDOVER_FLOW))
    config = tmp_path / "config.toml"
    config.write_text(runtime_config_text(
        str(emu.base_url), store="sqlite:///state.db", port=port, server_extra=server_extra, session_access="token",
        settings=HANDOVER_SETTINGS.format(reconcile_interval=3600, watchdog=5, wait_estimate=0, acw_timeout=0.3)))
    emu.config.integrations[0].webhook_url = f"http://127.0.0.1:{port}/handover/genesysCloudOM"
    stderr = (tmp_path / "stderr.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "extension", "serve", "--config", str(config), *args],  # noqa: ASYNC220
                            cwd=tmp_path, env={**os.environ, **FLAGS}, stdout=subprocess.DEVNULL, stderr=stderr)
    return proc, f"http://127.0.0.1:{port}"


def stop(proc: subprocess.Popen[bytes], tmp_path: Path) -> list[str]:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    return (tmp_path / "stderr.log").read_text().splitlines()


async def a_handover(http: aiohttp.ClientSession, base: str, emu: Emulator) -> str:
    """A handover from start to end through the public routes; returns the session token."""
    async with http.post(f"{base}/support-bot", json={"userId": "u1", "sessionId": "s1", "text": "hi"}) as resp:
        token = str((await resp.json())["sessionToken"])
    body = {"userId": "u1", "sessionId": "s1", "text": "agent"}
    async with http.post(f"{base}/support-bot", json=body, headers={"X-Session-Token": token}) as resp:
        assert resp.status == 200
    query = {"userId": "u1", "sessionId": "s1", "sessionToken": token}

    async def reached(status: str) -> None:
        async def seen() -> bool:
            async with http.get(f"{base}/support-bot/events", params=query) as resp:
                return status in [e.get("status") for e in (await resp.json())["events"]]

        await eventually(seen, f"handover status {status}", within=20)

    cid = emu.agent.waiting()[-1].id
    await emu.agent.accept(cid)
    await reached("active")
    await emu.agent.end(cid)
    await reached("completed")
    return token


@pytest.fixture
async def emulator() -> Any:
    emu = Emulator(EmulatorConfig(webhook_retry_delay=0.05, heartbeat_interval=0.5))
    await emu.start()
    yield emu
    await emu.stop()


async def test_json_lines_carry_the_fields_and_the_access_log_redacts_tokens(tmp_path: Path,
                                                                             emulator: Emulator) -> None:
    proc, base = await serve(tmp_path, emulator, "--log-format", "json", server_extra="access_log = true")
    try:
        async with aiohttp.ClientSession() as http:
            await wait_ready(http, base, proc, "the runtime", attempts=750)
            token = await a_handover(http, base, emulator)
    finally:
        lines = stop(proc, tmp_path)
    records = [json.loads(line) for line in lines if line.startswith("{")]
    # Everything the process logs is JSON (aiohttp's banner goes to stdout).
    assert len(records) == len(lines), [line for line in lines if not line.startswith("{")]
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
    moves = [r for r in records if r["logger"] == "extension.handover.transitions"]
    assert [r["transition"] for r in moves] == ["started", "queued", "active", "ended"], moves
    cid = moves[0]["conversationId"]
    assert cid and all(r["conversationId"] == cid and r["connection"] == "support" for r in moves)
    assert all((r["urlToken"], r["userId"], r["sessionId"]) == ("support-bot", "u1", "s1") for r in moves)
    assert any(r["message"].startswith("stopped in") for r in records)

    access = [r for r in records if r["logger"] == "aiohttp.access"]
    paths = [r["path"] for r in access]
    assert any(p.startswith("/support-bot/events?") and "sessionToken=REDACTED" in p for p in paths), paths
    assert any(r["method"] == "POST" and r["path"] == "/support-bot" and r["status"] == 200 for r in access)
    text = "\n".join(lines)
    for secret in (token, DEFAULT_CLIENT_SECRET, DEFAULT_WEBHOOK_SECRET):
        assert secret not in text


async def test_the_access_log_is_off_by_default(tmp_path: Path, emulator: Emulator) -> None:
    proc, base = await serve(tmp_path, emulator)
    try:
        async with aiohttp.ClientSession() as http:
            await wait_ready(http, base, proc, "the runtime", attempts=750)
            await a_handover(http, base, emulator)
    finally:
        lines = stop(proc, tmp_path)
    assert not [line for line in lines if "aiohttp.access" in line]
    # The text format, with the transitions in it.
    assert [line for line in lines if " INFO extension.handover.transitions: handover ended: session "
            "support-bot/u1/s1, connection support, conversation " in line]


def test_redacted_hides_credential_values_only() -> None:
    url = URL("/support-bot/socket?userId=u1&sessionId=s1&sessionToken=secret-value&after=3")
    assert redacted(url) == "/support-bot/socket?userId=u1&sessionId=s1&sessionToken=REDACTED&after=3"
    assert redacted(URL("/copilot/?URLToken=t&auth=a.b.c")) == "/copilot/?URLToken=t&auth=REDACTED"
    assert redacted(URL("/readyz")) == "/readyz"


@pytest.mark.parametrize("argv", [
    ["--log-format", "json", "serve", "--config", "x.toml"],
    ["serve", "--config", "x.toml", "--log-format", "json"],
    ["demo", "--log-format", "json"],
    ["doctor", "--config", "x.toml", "--log-format", "json", "--log-level", "DEBUG"],
])
def test_log_format_is_taken_before_or_after_the_command(argv: list[str]) -> None:
    from extension.cli import _parser

    assert _parser().parse_args(argv).log_format == "json"
    assert _parser().parse_args([a for a in argv if a not in ("--log-format", "json")]).log_format == "text"


def test_a_json_line_is_one_object_with_the_context_fields(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from extension.logs import configure

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure("INFO", "json")
        logging.getLogger("extension.test").warning("a line\nover two", extra={"connection": "support"})
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("extension.test").exception("failed")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    lines = capsys.readouterr().err.splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "WARNING" and first["logger"] == "extension.test"
    assert first["message"] == "a line\nover two" and first["connection"] == "support"
    assert first["time"].endswith("+00:00")
    assert "ValueError: boom" in second["exception"]
