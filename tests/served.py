"""`genesys-om serve` as a real process, for tests that kill it (SIGKILL) and start it again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from stack import FLAGS
from support import eventually


async def wait_ready(http: aiohttp.ClientSession, base: str, proc: subprocess.Popen[bytes], what: str,
                     attempts: int = 500) -> None:
    """Return once `base` answers /readyz; fail at once if `proc` exits, or after `attempts` polls of 20 ms
    (15 s at least)."""

    async def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited")
        try:
            async with http.get(f"{base}/readyz") as resp:
                return resp.status == 200
        except aiohttp.ClientError:
            return False

    await eventually(ready, f"{what} answering /readyz", within=max(15.0, attempts * 0.02))


class ServedRuntime:
    """One `serve` process on a config file; `start` returns once it answers /readyz."""

    def __init__(self, config: Path, port: int) -> None:
        self.config = config
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    async def start(self, http: aiohttp.ClientSession) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "extension", "--log-level", "WARNING", "serve",  # noqa: ASYNC220
                                      "--config", str(self.config)], env={**os.environ, **FLAGS},
                                     cwd=self.config.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.starts += 1
        await wait_ready(http, self.base, self.proc, "the runtime", attempts=750)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        self.kill()
