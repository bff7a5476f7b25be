"""Servers for the benchmarks, each in its own process; the OS scheduler spreads them over the cores."""

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
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Child logs go here (git-ignored): a pipe nobody reads would stall a chatty child once it fills.
LOGS = REPO / "bench" / "out"


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        return cpu_seconds(self.pid)

    def rss_bytes(self) -> int:
        with open(f"/proc/{self.pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"exited with status {proc.returncode}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {seconds} s") from None
            time.sleep(0.05)


def tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_bytes()[-size:].decode(errors="replace")
    except OSError:
        return ""


@contextlib.contextmanager
def process(args: list[str], ready_url: str, *, name: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run `python -m ...args` until the block ends; wait until `ready_url` answers."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / f"{name}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", *args], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    failed = False
    try:
        try:
            wait_http(ready_url, proc)
        except RuntimeError as exc:
            failed = True
            raise RuntimeError(f"{' '.join(args[:2])} failed: {exc}; the end of {log_path}:\n{tail(log_path)}"
                               ) from None
        yield proc
    except BaseException:
        if not failed:
            print(f"--- the end of {log_path}:\n{tail(log_path)}", file=sys.stderr)
        raise
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def emulator(*, latency: float = 0.0, name: str = "emulator") -> Iterator[Server]:
    """The Genesys Cloud emulator (it answers the runtime's calls)."""
    port = free_port()
    # Webhooks the emulator would post go nowhere: the benchmarks send their own, or rewire it.
    args = ["extension.testing.emulator", "--port", str(port), "--latency", str(latency),
            "--webhook-url", "http://127.0.0.1:9/unused"]
    with process(args, f"http://127.0.0.1:{port}/emulator", name=name) as proc:
        yield Server(f"http://127.0.0.1:{port}", proc.pid)


@contextlib.contextmanager
def runtime(store: str, emulator_url: str, *, workdir: Path, name: str, no_receipts: bool = False
            ) -> Iterator[Server]:
    """The runtime wired to the emulator; handovers are started with `seed`."""
    port = free_port()
    args = ["bench.servers", "runtime", "--port", str(port), "--store", store, "--emulator", emulator_url,
            "--workdir", str(workdir)]
    if no_receipts:
        args.append("--no-receipts")
    with process(args, f"http://127.0.0.1:{port}/benchctl/ready", name=name) as proc:
        yield Server(f"http://127.0.0.1:{port}", proc.pid)


@contextlib.contextmanager
def bare(kind: str = "bare") -> Iterator[Server]:
    """A bare aiohttp handler (`bare`), or one that also checks the signature and parses (`verify`)."""
    port = free_port()
    with process(["bench.servers", kind, "--port", str(port)], f"http://127.0.0.1:{port}/ready", name=kind) as proc:
        yield Server(f"http://127.0.0.1:{port}", proc.pid)


@contextlib.contextmanager
def limit(emulator_url: str, workdir: Path) -> Iterator[Server]:
    """The hand-written minimal pipeline: HMAC, parse, one durable SQLite row, the receipt to the emulator."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    args = ["bench.servers", "limit", "--port", str(port), "--emulator", emulator_url, "--workdir", str(workdir)]
    with process(args, f"http://127.0.0.1:{port}/ready", name="limit") as proc:
        yield Server(f"http://127.0.0.1:{port}", proc.pid)


def seed(server: Server, count: int, *, pairs: bool = False) -> dict[str, Any]:
    """Start `count` handovers through the runtime's real start path; returns what it measured."""
    answer: dict[str, Any] = post_json(server.url, "/benchctl/seed", {"count": count, "pairs": pairs}, timeout=600)
    return answer


def post_json(base: str, path: str, body: object, timeout: float = 30) -> Any:
    return emulator_json(base, path, "POST", body, timeout=timeout)


def emulator_json(base: str, path: str, method: str = "GET", body: object = None, timeout: float = 30) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())
