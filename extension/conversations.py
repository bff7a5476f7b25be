"""Runs user inputs through their endpoint's flow and stores the turn atomically."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .flows.engine import Endpoint, Turn, run_flow
from .flows.events import Event
from .flows.session import Session, SessionKey
from .metrics import Metrics
from .store import Store

log = logging.getLogger("extension.conversations")

# A hook sees each input of a session whose handover is active; True means it took the input.
InputHook = Callable[[Turn], Awaitable[bool]]
# A hook sees the user typing in a session whose handover is active.
TypingHook = Callable[[Endpoint, Session], Awaitable[None]]


@dataclass(frozen=True)
class UserInput:
    """One validated input from the user."""

    user_id: str
    session_id: str
    text: str | None = None
    data: dict[str, Any] | None = None


class Conversations:
    """The user side of the runtime: one call per input, the session locked while it runs."""

    def __init__(self, store: Store, endpoints: Mapping[str, Endpoint],
                 services: Mapping[str, Any] | None = None, metrics: Metrics | None = None) -> None:
        self.store = store
        self.endpoints = dict(endpoints)
        self.services: dict[str, Any] = dict(services or {})
        self.metrics = metrics or Metrics()
        self.input_hooks: list[InputHook] = []
        self.typing_hooks: list[TypingHook] = []

    def endpoint(self, url_token: str) -> Endpoint | None:
        return self.endpoints.get(url_token)

    async def load_session(self, key: SessionKey) -> Session:
        doc = await self.store.get_session(key.id)
        return Session.from_doc(doc) if doc else Session(key)

    async def handle_input(self, endpoint: Endpoint, user_input: UserInput) -> list[Event]:
        """Run one input; returns the stored events it produced (with seq)."""
        key = SessionKey(endpoint.url_token, user_input.user_id, user_input.session_id)
        async with self.store.lock(key.id):
            session = await self.load_session(key)
            session.update_profile(user_input.data)
            turn = Turn(session, endpoint, self._input(session, user_input.text, user_input.data))
            taken = False
            if session.handover is not None:
                for hook in self.input_hooks:
                    if await hook(turn):
                        taken = True
                        break
            if not taken:
                await run_flow(turn, self.services)
            session.updated = time.time()
            stored = await self.store.commit(key.id, session.to_doc(), turn.events)
        self.metrics.user_inputs.inc(endpoint=endpoint.url_token, outcome="handover" if taken else "flow")
        return stored

    async def handle_typing(self, endpoint: Endpoint, key: SessionKey) -> None:
        """The user is typing: only a handover cares (the flow does not run)."""
        doc = await self.store.get_session(key.id)
        if doc is None or doc.get("handover") is None:
            return
        session = Session.from_doc(doc)
        for hook in self.typing_hooks:
            await hook(endpoint, session)

    async def resume(self, endpoint: Endpoint, key: SessionKey, input_extra: dict[str, Any],
                     *, start: str | None = None) -> list[Event]:
        """Run the flow without a user message (e.g. when a handover ends), from the pointer."""
        async with self.store.lock(key.id):
            session = await self.load_session(key)
            turn = Turn(session, endpoint, {**self._input(session, None, None), **input_extra})
            await run_flow(turn, self.services, start=start)
            session.updated = time.time()
            return await self.store.commit(key.id, session.to_doc(), turn.events)

    @staticmethod
    def _input(session: Session, text: str | None, data: dict[str, Any] | None) -> dict[str, Any]:
        return {"text": text, "data": data if data is not None else {}, "profile": dict(session.profile)}
