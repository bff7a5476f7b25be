"""Helpers shared by the tests: a valid config text, a small echo flow, one bounded wait, the import graph."""

from __future__ import annotations

import ast
import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
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


def extension_modules() -> dict[str, Path]:
    """Every module under extension/ by dotted name, a package by its `__init__.py`."""
    modules = {}
    for path in sorted(EXTENSION.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def import_graph() -> dict[str, set[str]]:
    """Which modules under extension/ each one imports, lazy and TYPE_CHECKING imports included.

    A name counts as the longest module it starts with (`pkg.mod.Name` is `pkg.mod`), so `import
    a.b.c` is an edge to `a.b.c` only, not to the parent packages Python imports on the way.
    """
    modules = extension_modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        edges = set()
        for name in imports_of(path):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                edges.add(name)
        graph[module] = edges
    return graph


def import_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def shortest_circle(graph: Mapping[str, Iterable[str]], component: list[str]) -> list[str]:
    """One shortest path from the component's first node back to itself, inside the component."""
    start, inside = component[0], set(component)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(set(graph.get(node, ())) & inside):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    raise ValueError(f"{component} is not a cycle of the graph")
