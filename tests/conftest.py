"""Shared fixtures: the manifest, config files written on the fly, and a runtime app client."""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from extension.config import Config, load_config
from extension.manifest import Manifest, load_manifest

from redis_server import delete_prefix, new_prefix, redis_url, require_redis
from stack import make_stack  # noqa: F401 - the emulator + runtime fixture for every folder
from support import ECHO_FLOW, config_text  # noqa: I001

# Far above any test's time on a loaded machine; a test past it is stuck, and a stuck test would
# otherwise hold the whole run until CI's own limit.
TEST_TIME_LIMIT = int(os.environ.get("TEST_TIME_LIMIT", "300"))


class StuckTest(Exception):
    """A test ran past TEST_TIME_LIMIT."""


@pytest.fixture(autouse=True)
def time_limit() -> Iterator[None]:
    """Turn a hung test into a failure: every thread's stack is printed, then the test is interrupted."""

    def expired(signum: int, frame: object) -> None:
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        with contextlib.suppress(RuntimeError):  # no event loop runs: the thread stacks say it all
            for task in asyncio.all_tasks(asyncio.get_running_loop()):
                print(f"--- {task!r}", file=sys.stderr)
                task.print_stack(file=sys.stderr)
        raise StuckTest(f"the test ran longer than {TEST_TIME_LIMIT} s (stacks above)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_TIME_LIMIT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True)
def logging_as_it_was() -> Iterator[None]:
    """A test that runs the CLI in-process configures logging; the next test starts as before."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each store in turn (a test asking for `store_url` runs three times); Redis gets a key prefix
    of its own, deleted afterwards, and short locks. Ask for it before `make_stack`, so that its
    clean-up runs after the stack (which writes to Redis) has stopped."""
    if request.param != "redis":
        yield "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/store.db"
        return
    require_redis()
    prefix = new_prefix()
    yield redis_url(prefix, lock_seconds=2)
    await delete_prefix(prefix)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built as a wheel, once per run: the tests that read or install it share it."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(Path(__file__).resolve().parents[1])], check=True, capture_output=True)
    return next(dist.glob("genesys_om_handover-*.whl"))


@pytest.fixture(scope="session")
def manifest() -> Manifest:
    return load_manifest()


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a flow and a config beside it; returns the config path."""

    def write(flow: dict[str, Any] | None = None, **kw: Any) -> Path:
        (tmp_path / "flow.json").write_text(json.dumps(flow or ECHO_FLOW))
        path = tmp_path / "config.toml"
        path.write_text(config_text(**kw))
        return path

    return write


@pytest.fixture
def make_config(write_config: Callable[..., Path], manifest: Manifest) -> Callable[..., Config]:
    def make(flow: dict[str, Any] | None = None, env: dict[str, str] | None = None, **kw: Any) -> Config:
        handover = any(n["type"] in ("handoverToAgent", "closeHandover") for n in (flow or ECHO_FLOW)["nodes"])
        kw.setdefault("handover", True if handover else kw.get("handover", True))
        return load_config(write_config(flow, **kw), manifest, env=env or {})

    return make
