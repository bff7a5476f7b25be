"""`genesys-om serve` as a real process, for tests that kill it (SIGKILL) and start it again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from stack import FLAGS


async def wait_ready(http: aiohttp.ClientSession, base: str, proc: subprocess.Popen[bytes], what: str,
                     attempts: int = 500) -> None:
    """Return once `base` answers /readyz; fail at once if `proc` exits, or after `attempts` polls."""
    for _ in range(attempts):
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited")
        try:
            async with http.get(f"{base}/readyz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.02)
    raise AssertionError(f"{what} did not come up")


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
