"""The demo on a busy port names the flag to change; on 0.0.0.0 it prints and wires reachable URLs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from extension.demo import CannotListen, start_demo
from extension.testing.emulator.addresses import http_url

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def _demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "always"}
    return subprocess.run([sys.executable, "-m", "extension", "demo", *args], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=60)


@pytest.mark.parametrize("flag", ["--emulator-port", "--port"])
def test_a_busy_port_names_that_port_and_its_flag_and_closes_cleanly(tmp_path: Path, taken_port: int,
                                                                      flag: str) -> None:
    result = _demo(tmp_path, flag, str(taken_port))
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"cannot listen on 127.0.0.1 port {taken_port} ({flag}): ")
    assert lines[0].endswith(f"; choose another {flag}, or 0 for a free one")
    assert "Unclosed" not in result.stderr + result.stdout


async def test_busy_ports_raise_the_flag_to_change(tmp_path: Path, taken_port: int) -> None:
    with pytest.raises(CannotListen) as info:
        await start_demo(workdir=tmp_path, emulator_port=taken_port, env={})
    assert (info.value.flag, info.value.port) == ("--emulator-port", taken_port)
    with pytest.raises(CannotListen) as info:
        await start_demo(workdir=tmp_path, port=taken_port, env={})
    assert (info.value.flag, info.value.port) == ("--port", taken_port)


@pytest.mark.parametrize(("host", "expected"), [
    ("0.0.0.0", "http://127.0.0.1:80"), ("::", "http://[::1]:80"), ("127.0.0.1", "http://127.0.0.1:80"),
    ("::1", "http://[::1]:80"), ("bot.internal", "http://bot.internal:80"),
])
def test_urls_reach_the_listen_address(host: str, expected: str) -> None:
    assert http_url(host, 80) == expected


async def test_a_demo_on_every_address_prints_and_wires_loopback_urls(tmp_path: Path) -> None:
    demo = await start_demo(workdir=tmp_path, host="0.0.0.0", env={})
    try:
        for url in (demo.runtime_url, demo.emulator_url, demo.webchat_url, demo.console_url):
            assert url.startswith("http://127.0.0.1:"), url
        config = demo.config
        assert config.server.host == "0.0.0.0"
        assert config.server.public_url == demo.runtime_url
        assert config.endpoints[0].copilot_url == f"{demo.runtime_url}/copilot"
        assert config.connections["demo"]["host"] == demo.emulator_url
        async with aiohttp.ClientSession() as http:
            for url in (demo.webchat_url, demo.console_url):
                async with http.get(url) as response:
                    assert response.status == 200, url
    finally:
        await demo.stop()


async def test_the_demo_serves_its_web_chat_even_from_a_config_that_turns_it_off(tmp_path: Path) -> None:
    source = (REPO / "examples" / "demo.toml").read_text()
    config = tmp_path / "demo.toml"
    config.write_text(source.replace("[server]\n", "[server]\nwebchat = false\n", 1))
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "demo.json").write_text((REPO / "examples" / "flows" / "demo.json").read_text())
    demo = await start_demo(config, workdir=tmp_path, env={})
    try:
        async with aiohttp.ClientSession() as http, http.get(demo.webchat_url) as response:
            assert response.status == 200
    finally:
        await demo.stop()


async def test_an_address_of_no_interface_says_to_check_the_host(tmp_path: Path) -> None:
    with pytest.raises(CannotListen) as info:
        await start_demo(workdir=tmp_path, host="192.0.2.1", env={})  # TEST-NET-1: on no interface here
    assert info.value.explain().startswith("cannot listen on 192.0.2.1 port 0 (--emulator-port): ")
    assert info.value.explain().endswith("; check --host (an address of this machine, or 0.0.0.0 for all)")
