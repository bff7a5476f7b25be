"""`genesys-om demo` and `make demo`: the runtime and the emulator wired to each other, on loopback."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from extension.demo import Demo, default_config, start_demo
from extension.providers.genesys_flags import genesys_om_for
from extension.providers.genesys_om.webhook import webhook_path

from support import eventually

REPO = Path(__file__).resolve().parents[2]


def test_make_demo_runs_the_demo_command() -> None:
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", (REPO / "Makefile").read_text(), re.M)
    assert recipe is not None and "genesys-om demo" in recipe.group(1)


async def test_the_demo_is_wired_end_to_end(demo: Demo, tmp_path: Path) -> None:
    integration = demo.emulator.integration
    assert integration.webhook_url == demo.runtime_url + webhook_path()
    assert demo.config.connections["demo"]["host"] == demo.emulator_url
    assert genesys_om_for(demo.config.flags, "demo")
    assert demo.config.store_url == f"sqlite:///{tmp_path / 'demo.db'}"
    assert demo.config.endpoints[0].copilot_url == f"{demo.runtime_url}/copilot"
    assert demo.runtime_url.startswith("http://127.0.0.1:") and demo.emulator_url.startswith("http://127.0.0.1:")
    assert demo.webchat_url == f"{demo.runtime_url}/webchat/demo" and demo.console_url == f"{demo.emulator_url}/console"

    async with aiohttp.ClientSession() as http:
        # The demo endpoint keeps the default session access: its first answer brings the token.
        token: dict[str, str] = {}

        async def say(text: str) -> list[Any]:
            body = {"userId": "u", "sessionId": "s", "text": text}
            async with http.post(f"{demo.runtime_url}/demo", json=body, headers=token) as response:
                assert response.status == 200
                answer = await response.json()
                token["X-Session-Token"] = answer["sessionToken"]
                return list(answer["outputStack"])

        async def events() -> list[dict[str, Any]]:
            params = {"userId": "u", "sessionId": "s", "after": "0"}
            async with http.get(f"{demo.runtime_url}/demo/events", params=params, headers=token) as response:
                return list((await response.json())["events"])

        await say("hello")
        assert (await say("agent"))[0]["data"]["quickReplies"][0]["title"] == "Cancel"
        conversation = await eventually(lambda: _waiting(demo))
        await demo.emulator.agent.accept(conversation.id)
        await demo.emulator.agent.reply(conversation.id, "Anna here")
        await eventually(lambda: _has(events, lambda e: e.get("source") == "agent" and e["text"] == "Anna here"))
        await demo.emulator.agent.end(conversation.id)
        await eventually(lambda: _has(events, lambda e: e.get("text") == "Welcome back! The bot is here again."))
        assert [o["text"] for o in await say("ping")] == ["You said: ping"]

        # The third page: a customer inside Genesys, whose messages Architect gives the runtime's bot.
        assert demo.messenger_url == f"{demo.emulator_url}/messenger"
        customer = {"customerId": "jane", "name": "Jane", "text": "hello"}
        async with http.post(f"{demo.emulator_url}/emulator/messenger/messages", json=customer) as response:
            assert response.status == 200
        await demo.emulator.settle()
        async with http.get(f"{demo.emulator_url}/emulator/messenger/events", params={"customerId": "jane"}) as r:
            feed = await r.json()
        assert [m["sender"] for m in feed["messages"]][:2] == ["customer", "bot"], feed
        assert [t.problem for t in demo.emulator.architect.turns] == [None]


async def _waiting(demo: Demo) -> Any:
    waiting = demo.emulator.agent.waiting()
    return waiting[0] if waiting else None


async def _has(events: Any, wanted: Any) -> bool:
    return any(wanted(e) for e in await events())


async def test_a_busy_port_is_refused_clearly(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            await start_demo(workdir=tmp_path, port=taken.getsockname()[1], env={})


def test_the_command_prints_the_urls_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "extension", "demo"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 30
        while not any(line.startswith("          In the agent console") for line in lines):
            line = proc.stdout.readline()
            assert line and time.monotonic() < deadline, f"no banner; got {lines!r}"
            lines.append(line)
        text = "".join(lines)
        webchat = re.search(r"Web chat\s+(http://127\.0\.0\.1:\d+/webchat/demo)\n", text)
        console = re.search(r"Agent console\s+(http://127\.0\.0\.1:\d+/console)\n", text)
        messenger = re.search(r"Messenger\s+(http://127\.0\.0\.1:\d+/messenger)\s", text)
        assert webchat and console and messenger, text
        assert 'Try this: in the web chat say hello, then type "agent"' in text
        for url in (webchat.group(1), console.group(1), messenger.group(1)):
            with urllib.request.urlopen(url, timeout=5) as response:
                assert response.status == 200 and b"<!doctype html>" in response.read()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out.strip().endswith("stopped.")
    assert "demo-client-secret" not in out + err and "demo-webhook-secret" not in out + err


def test_the_wheel_ships_the_pages_and_the_example(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"extension/_examples/demo.toml", "extension/_examples/flows/demo.json",
            "extension/channels/static/webchat.js", "extension/channels/static/webchat.html",
            "extension/channels/static/copilot.html", "extension/testing/emulator/console_ui/console.js",
            "extension/testing/emulator/console_ui/console.html"} <= names
    assert not any(name.endswith(".db") for name in names)
    assert default_config().is_file()


async def test_stopping_closes_open_sockets_with_going_away(tmp_path: Path) -> None:
    running = await start_demo(workdir=tmp_path, env={})
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"{running.runtime_url}/demo/socket?userId=u&sessionId=s&after=0")
        stopping = asyncio.create_task(running.stop())
        message = await asyncio.wait_for(ws.receive(), 10)
        assert message.type == aiohttp.WSMsgType.CLOSE and message.data == aiohttp.WSCloseCode.GOING_AWAY
        await asyncio.wait_for(stopping, 10)


# `genesys-om demo` with a start-up and a stop that take a while, so a Ctrl-C surely lands inside them.
SLOW_DEMO = """
import asyncio, sys
import extension.demo as demo
from extension.cli import main

real_start, real_stop = demo.start_demo, demo.Demo.stop

async def slow_start(*args, **kwargs):
    print("start-up under way", flush=True)
    await asyncio.sleep(float(sys.argv[1]))
    return await real_start(*args, **kwargs)

async def slow_stop(self):
    print("stop under way", flush=True)
    await asyncio.sleep(float(sys.argv[2]))
    await real_stop(self)

demo.start_demo, demo.Demo.stop = slow_start, slow_stop
sys.exit(main(["demo"]))
"""


def _slow_demo(tmp_path: Path, start_seconds: float, stop_seconds: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", SLOW_DEMO, str(start_seconds), str(stop_seconds)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)


def _read_until(proc: subprocess.Popen[str], marker: str) -> str:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while not any(marker in line for line in lines):
        line = proc.stdout.readline()
        assert line and time.monotonic() < deadline, f"no {marker!r}; got {lines!r}"
        lines.append(line)
    return "".join(lines)


def test_ctrl_c_during_start_up_stops_cleanly(tmp_path: Path) -> None:
    proc = _slow_demo(tmp_path, 1.0, 0.0)  # the signal comes well within the second
    try:
        _read_until(proc, "start-up under way")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert proc.returncode == 0, err
    assert "Web chat" not in out  # stopped as soon as it was up, without inviting anyone in
    assert out.strip().endswith("stopping the demo…\nstop under way\nstopped.")


def test_a_second_ctrl_c_while_stopping_is_only_noted(tmp_path: Path) -> None:
    proc = _slow_demo(tmp_path, 0.0, 1.0)  # the second signal comes well within the second
    try:
        _read_until(proc, "In the agent console")
        proc.send_signal(signal.SIGINT)
        _read_until(proc, "stop under way")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert proc.returncode == 0, err
    assert "still stopping, one moment…" in out and out.strip().endswith("stopped.")


def test_a_ctrl_c_before_the_handlers_is_caught(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    import extension.demo
    from extension.cli import main

    async def interrupted(*args: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(extension.demo, "serve_demo", interrupted)
    assert main(["demo"]) == 130
    assert capsys.readouterr().out == "stopped.\n"
