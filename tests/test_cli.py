"""The genesys-om command: validate, serve, --version, --help."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import extension

from support import SECRET

REPO = Path(__file__).resolve().parents[1]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "extension", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_version_and_help() -> None:
    assert run("--version").stdout.strip() == f"genesys-om {extension.__version__}"
    out = run("--help").stdout
    for word in ("serve", "validate", "--config"):
        assert word in out
    assert "--port" in run("serve", "--help").stdout


def test_validate_ok(write_config: Callable[..., Path]) -> None:
    result = run("validate", "--config", str(write_config()))
    assert result.returncode == 0, result.stderr
    assert "OK (1 endpoint(s), 1 connection(s))" in result.stdout


def test_validate_lists_every_error_and_fails(write_config: Callable[..., Path]) -> None:
    path = write_config()
    path.write_text(path.read_text().replace('queue = "Support"', "").replace("port = 8080", 'port = "x"'))
    result = run("validate", "--config", str(path))
    assert result.returncode == 1
    assert "connections.support.queue: Missing data for required field." in result.stderr
    assert "server.port: Not a valid integer." in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_validate_the_shipped_example() -> None:
    assert run("validate", "--config", str(REPO / "examples" / "demo.toml")).returncode == 0


def test_serve_refuses_to_start_on_a_bad_flow(write_config: Callable[..., Path], tmp_path: Path) -> None:
    path = write_config({"name": "f", "nodes": [{"id": "a", "type": "goTo", "config": {"target": "zz"}}]})
    port = free_port()
    result = run("serve", "--config", str(path), "--port", str(port))
    assert result.returncode == 1
    assert "endpoints[0].flow: flow.json: node 'a' (goTo): field target: no node with id 'zz'" in result.stderr


def test_serve_runs_and_answers(write_config: Callable[..., Path]) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "extension", "serve", "--config", str(write_config()),
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        body = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
                    body = json.loads(resp.read())
                break
            except OSError:
                time.sleep(0.1)
        assert body == {"status": "ok"}
        req = urllib.request.Request(f"http://127.0.0.1:{port}/support-bot", method="POST",
                                     data=json.dumps({"userId": "u", "sessionId": "s", "text": "hi"}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert json.loads(resp.read())["outputStack"][0]["text"] == "Hello"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    # The endpoint's handover is off (no feature flags): one clear warning naming the flag.
    assert "FEATURE_ENABLE_GENESYS_CLOUD_OM=true" in err
    assert SECRET not in err


def test_validate_fails_on_a_host_serve_could_not_use(write_config: Callable[..., Path]) -> None:
    path = write_config()
    path.write_text(path.read_text().replace('host = "mypurecloud.de"', 'host = "genesys.example.com"'))
    result = run("validate", "--config", str(path))
    assert result.returncode == 1
    assert "connections.support.host: Genesys host 'genesys.example.com' is not a Genesys Cloud domain" \
        in result.stderr
    assert "Traceback" not in result.stderr and SECRET not in result.stderr + result.stdout


def test_validate_refuses_a_mistyped_region_and_names_the_closest(write_config: Callable[..., Path]) -> None:
    path = write_config()
    path.write_text(path.read_text().replace('host = "mypurecloud.de"', 'host = "mypurecloud.dee"'))
    result = run("validate", "--config", str(path))
    assert result.returncode == 1
    assert ("connections.support.host: Genesys host 'mypurecloud.dee' is not a Genesys Cloud region domain "
            "(did you mean 'mypurecloud.de'?)") in result.stderr
    assert "Traceback" not in result.stderr and SECRET not in result.stderr + result.stdout
