"""Helpers shared by the tests: a valid config text, a small echo flow, and one bounded wait."""

from __future__ import annotations

import ast
import asyncio
import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from extension.testing.clock import ManualClock

T = TypeVar("T")
SECRET = "test-webhook-secret-0123456789"
CLIENT_SECRET = "test-client-secret-abcdef"



ECHO_FLOW: dict[str, Any] = {
    "name": "echo",
    "nodes": [
        {"id": "hello", "type": "say", "config": {"text": "Hello"}},
        {"id": "wait", "type": "waitForInput"},
        {"id": "echo", "type": "say", "config": {"text": "You said: {{input.text}}"}},
        {"id": "back", "type": "goTo", "config": {"target": "wait"}},
    ],
}


def config_text(*, store: str = "memory://", flow: str = "flow.json", extra: str = "",
                endpoint_extra: str = "", handover: bool = True, server_extra: str = "",
                session_access: str | None = "open") -> str:
    """A complete, valid config; tests change one thing at a time.

    Its endpoint takes the ids alone (`sessionAccess = "open"`) unless told otherwise: session
    access itself is tested in test_session_access.py, across routes and stores.
    """
    if session_access is not None and "sessionAccess" not in endpoint_extra:
        endpoint_extra = f'sessionAccess = "{session_access}"\n{endpoint_extra}'
    connection = f"""
[connections.support]
type = "genesysCloudOM"
host = "mypurecloud.de"
deploymentName = "BotHandover"
queue = "Support"
webhookSecret = "{SECRET}"
clientId = "client-1"
clientSecret = "{CLIENT_SECRET}"
""" if handover else ""
    return f"""
[server]
host = "127.0.0.1"
port = 8080
public_url = "https://bot.example.com"
{server_extra}
[store]
url = "{store}"
{connection}
[[endpoints]]
urlToken = "support-bot"
organisation = "acme"
flow = "{flow}"
{'handover = "support"' if handover else ''}
{endpoint_extra}
{extra}
"""


def free_port() -> int:
    """A port nobody listens on right now (loopback)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def eventually(check: Callable[[], Any], what: str = "the condition", within: float = 15.0,
                     every: float = 0.02) -> Any:
    """Poll `check()` (sync or async) until it gives something truthy, and return that.

    Fails naming `what` after `within` seconds: tests wait for what they expect, bounded, never
    for a fixed time.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"not reached within {within:g} s: {what}")
        await asyncio.sleep(every)


async def eventually_advancing(clock: ManualClock, check: Callable[[], Any], what: str = "the condition",
                               step: float = 0.1, within: float = 15.0) -> Any:
    """`eventually`, moving `clock` on by `step` before each look: the timers due meanwhile fire."""

    async def stepped() -> Any:
        await clock.advance(step)
        result = check()
        return await result if inspect.isawaitable(result) else result

    return await eventually(stepped, what, within)


async def while_advancing(clock: ManualClock, awaitable: Awaitable[T], step: float = 0.1, within: float = 15.0) -> T:
    """Await `awaitable`, moving `clock` on by `step` at each look: the pauses it sleeps on the clock pass."""
    task = asyncio.ensure_future(awaitable)
    await eventually_advancing(clock, task.done, "the call to finish", step, within)
    return task.result()


REPO = Path(__file__).resolve().parents[1]
EXTENSION = REPO / "extension"


def imports_of(path: Path) -> list[str]:
    """Every module an `import` in the file names, relative imports resolved (lazy ones included)."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            module = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
            names.append(module)
            names += [f"{module}.{alias.name}" for alias in node.names]
    return names
