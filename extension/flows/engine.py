"""Runs a flow for one input: node after node until one waits or the flow ends."""

from __future__ import annotations

import inspect
import logging
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .events import Event, handover_event, output_event, typing_event
from .flow import Flow, FlowNode
from .session import Session, SessionKey

log = logging.getLogger("extension.flows")

MAX_STEPS = 1000


class FlowRuntimeError(Exception):
    """A flow could not run to a stop (a loop without wait, a node function that failed)."""


@dataclass
class Endpoint:
    """An endpoint as the flow engine sees it."""

    url_token: str
    flow: Flow
    organisation: str = ""
    handover: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    # Which provider its handover nodes call: the type of the `handover` connection, or the
    # endpoint's own type when that is not `webchat` (the type is its handover provider).
    handover_type: str | None = None
    # `webchat` (the user routes) or a type the manifest declares.
    type: str = "webchat"


@dataclass
class Turn:
    """What one run of the flow produced."""

    session: Session
    endpoint: Endpoint
    input: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    # Run once the turn is stored (e.g. wake a sender); never run for a turn that failed.
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # (namespace, key, ttl) claims stored with the turn, all or nothing with it (Store.commit).
    claims: list[tuple[str, str, float]] = field(default_factory=list)
    discarded: bool = False

    def discard(self) -> None:
        """Store nothing of this turn."""
        self.discarded = True


class NodeApi:
    """What a node function may do; node functions never touch the raw session."""

    def __init__(self, turn: Turn, flow: Flow, node: FlowNode, services: Mapping[str, Any]) -> None:
        self._turn = turn
        self._flow = flow
        self.node = node
        self.services = services
        self._goto: str | None = None
        self._stop: bool = False
        self._resume_at: str | None = None

    # Reading -------------------------------------------------------------------------------
    @property
    def input(self) -> dict[str, Any]:
        return self._turn.input

    @property
    def key(self) -> SessionKey:
        return self._turn.session.key

    @property
    def endpoint(self) -> Endpoint:
        return self._turn.endpoint

    @property
    def profile(self) -> dict[str, str]:
        return dict(self._turn.session.profile)

    def get(self, name: str, default: Any = None) -> Any:
        """Read a value of the session context."""
        return self._turn.session.context.get(name, default)

    def set(self, name: str, value: Any) -> None:
        """Write a value of the session context (stored with the turn)."""
        self._turn.session.context[name] = value

    @property
    def transcript(self) -> list[dict[str, Any]]:
        return list(self._turn.session.transcript)

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` once this turn is stored."""
        self._turn.after_commit.append(callback)

    @property
    def handover_state(self) -> dict[str, Any] | None:
        return self._turn.session.handover

    def set_handover_state(self, state: dict[str, Any] | None) -> None:
        """Attach (or clear) the handover that owns the session's inputs."""
        self._turn.session.handover = state

    # Writing -------------------------------------------------------------------------------
    def output(self, text: str | None = None, data: Any = None, source: str = "bot") -> Event:
        """Send a message to the user."""
        event = output_event(text, data, source)
        self._turn.events.append(event)
        return event

    def emit_handover(self, status: str, **extra: Any) -> None:
        """Record a change of handover state in the user's event log."""
        self._turn.events.append(handover_event(status, **extra))

    def emit_typing(self, source: str = "bot") -> None:
        self._turn.events.append(typing_event(source))

    # Control -------------------------------------------------------------------------------
    def goto(self, node_id: str) -> None:
        """Continue at another node."""
        if self._flow.node(node_id) is None:
            raise FlowRuntimeError(f"node {self.node.id!r} jumps to unknown node {node_id!r}")
        self._goto = node_id

    def wait(self) -> None:
        """Stop here; the next input continues at the following node."""
        following = self._flow.following(self.node)
        self._stop = True
        self._resume_at = following.id if following else None

    def stop(self) -> None:
        """Stop here; the next input starts the flow from its first node."""
        self._stop = True
        self._resume_at = None


async def run_flow(turn: Turn, services: Mapping[str, Any], *, start: str | None = None) -> None:
    """Run the endpoint's flow from `start` (or the session pointer) until it stops or ends."""
    flow = turn.endpoint.flow
    session = turn.session
    node_id = start if start is not None else session.pointer
    node = flow.node(node_id) if node_id else flow.first()
    if node is None:
        # The flow changed under a stored pointer: start again rather than strand the user.
        log.warning("session pointer %r is not in flow %r; starting at the first node", node_id, flow.name)
        node = flow.first()
    for _ in range(MAX_STEPS):
        api = NodeApi(turn, flow, node, services)
        try:
            result = node.function(api, node.config)
            if inspect.isawaitable(result):
                await result
        except FlowRuntimeError:
            raise
        except Exception as exc:
            # The exception text may carry a secret (a store URL, a token) or user data: the log gets
            # its type and where it was raised, the error only the type.
            log.error("node %r (%s) of flow %r failed: %s\n%s", node.id, node.type, flow.name,
                      type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)).rstrip())
            raise FlowRuntimeError(f"node {node.id!r} ({node.type}) failed: {type(exc).__name__}") from exc
        if api._stop:
            session.pointer = api._resume_at
            return
        nxt = flow.node(api._goto) if api._goto else flow.following(node)
        if nxt is None:
            session.pointer = None
            return
        node = nxt
    session.pointer = None
    raise FlowRuntimeError(f"flow {flow.name!r} ran {MAX_STEPS} nodes without waiting for input")
