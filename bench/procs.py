"""Servers for the benchmarks, each in its own process so the load generator does not share a core."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        with open(f"/proc/{self.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {seconds} s") from None
            time.sleep(0.05)


@contextlib.contextmanager
def process(args: list[str], ready_url: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run `python -m ...args` until the block ends; wait until `ready_url` answers."""
    proc = subprocess.Popen([sys.executable, "-m", *args], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        try:
            wait_http(ready_url)
        except RuntimeError:
            proc.kill()
            raise RuntimeError(f"{' '.join(args)} failed: {proc.communicate()[1].decode()[-2000:]}") from None
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def emulator(*, latency: float = 0.0, auto_reply: bool = False, webhook_url: str = "http://127.0.0.1:9/x"
             ) -> Iterator[str]:
    port = free_port()
    args = ["extension.testing.emulator", "--port", str(port), "--latency", str(latency),
            "--webhook-url", webhook_url]
    if auto_reply:
        args.append("--auto-reply")
    with process(args, f"http://127.0.0.1:{port}/emulator"):
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def runtime(store: str, emulator_url: str, *, handovers: int = 0, workdir: Path) -> Iterator[Server]:
    port = free_port()
    args = ["bench.servers", "runtime", "--port", str(port), "--store", store, "--emulator", emulator_url,
            "--handovers", str(handovers), "--workdir", str(workdir)]
    with process(args, f"http://127.0.0.1:{port}/readyz-seeded") as proc:
        yield Server(f"http://127.0.0.1:{port}", proc.pid)


@contextlib.contextmanager
def bare() -> Iterator[Server]:
    port = free_port()
    with process(["bench.servers", "bare", "--port", str(port)], f"http://127.0.0.1:{port}/ready") as proc:
        yield Server(f"http://127.0.0.1:{port}", proc.pid)


def emulator_json(base: str, path: str, method: str = "GET", body: object = None) -> object:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())
