"""Runtime replicas as real OS processes on one Redis, and a load balancer in front of their webhook."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
from aiohttp import web

from served import wait_ready
from stack import FLAGS, HANDOVER_FLOW, runtime_config_text
from support import free_port


def write_config(folder: Path, name: str, port: int, emulator_url: str, store_url: str) -> Path:
    """One replica's config: the same store, connection and flow as the others, its own port."""
    (folder / "flow.json").write_text(json.dumps(HANDOVER_FLOW))
    path = folder / f"{name}.toml"
    path.write_text(runtime_config_text(emulator_url, store=store_url, port=port, settings="""
[handover]
retry_attempts = 3
retry_total_seconds = 3
request_timeout_seconds = 2
acw_timeout_seconds = 0.3
reconcile_interval_seconds = 1
reconcile_idle_seconds = 5
heartbeat_timeout_seconds = 5
outbox_retry_max_seconds = 0.3
lease_seconds = 1
"""))
    return path


class Replica:
    """`python -m extension serve --config ...` as a process the test can SIGKILL."""

    def __init__(self, name: str, folder: Path, emulator_url: str, store_url: str) -> None:
        self.name = name
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.config = write_config(folder, name, port, emulator_url, store_url)
        self.log = folder / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, http: aiohttp.ClientSession) -> None:
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(  # noqa: ASYNC220 - a child that outlives this call
                [sys.executable, "-m", "extension", "--log-level", "INFO", "serve", "--config", str(self.config)],
                env={**os.environ, **FLAGS}, stdout=log, stderr=subprocess.STDOUT)
        try:
            await wait_ready(http, self.base, self.proc, f"replica {self.name}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}:\n{self.log_tail()}") from None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""


class Balancer:
    """What a load balancer does for Genesys' webhook: forward to a live replica (502 when it is down)."""

    def __init__(self) -> None:
        self.target = ""
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self._http = aiohttp.ClientSession()
        self.url = f"http://127.0.0.1:{port}/handover/genesysCloudOM"

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._http is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", "x-hub-signature-256")}
        try:
            async with self._http.post(f"{self.target}{request.path}", data=await request.read(),
                                       headers=headers) as resp:
                return web.Response(status=resp.status, body=await resp.read(), content_type="application/json")
        except aiohttp.ClientError:
            return web.Response(status=502, text="replica down")

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()
