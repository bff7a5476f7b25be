"""Runs user inputs through their endpoint's flow and stores each turn atomically."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from . import texts
from .clock import SYSTEM_CLOCK, Clock
from .flows.engine import Endpoint, Turn, run_flow
from .flows.events import Event
from .flows.session import Session, SessionKey
from .metrics import Metrics
from .refusals import BadInput
from .store import Store

log = logging.getLogger("extension.sessions")

# Work to do once a session is gone (drop indexes, stop watching).
AfterEnd = Callable[[], Awaitable[None]]


class SessionProvider(Protocol):
    """What the handover provider of an endpoint sees of its sessions (extension/handover)."""

    async def on_input(self, turn: Turn) -> bool:
        """Every input of the endpoint before the flow; True: the provider took it, the flow does not run."""

    async def on_typing(self, endpoint: Endpoint, key: SessionKey) -> None:
        """The user is typing (it reads what it needs: the session is not loaded)."""

    async def on_session_end(self, session: Session) -> AfterEnd | None:
        """The session is about to be deleted (by its user or by expiry), inside its lock; raising
        SessionKept keeps it as it was. It may return work to run once the session is deleted."""


def service_key(handover_type: str | None) -> str:
    """The key of a provider in the flow services, by the connection type it serves."""
    return f"handover:{handover_type}"


class SessionKept(Exception):
    """An end hook could not let the session go (e.g. its handover could not be ended)."""


@dataclass(frozen=True)
class InputLimits:
    """What one user input may carry (`[server] max_text_chars` and `max_data_bytes`)."""

    max_text_chars: int = 10000
    max_data_bytes: int = 16384

    def check(self, text: str | None, data: dict[str, Any] | None) -> None:
        """Refuse (413) an input over a limit, before anything of it is run or stored."""
        if text is not None and len(text) > self.max_text_chars:
            raise BadInput(texts.TEXT_TOO_LONG.format(limit=self.max_text_chars), 413)
        if data and len(json.dumps(data, separators=(",", ":"))) > self.max_data_bytes:
            raise BadInput(texts.DATA_TOO_LARGE.format(limit=self.max_data_bytes), 413)


@dataclass(frozen=True)
class UserInput:
    """One validated input from the user."""

    user_id: str
    session_id: str
    text: str | None = None
    data: dict[str, Any] | None = None
    # Set by the client (a socket frame's `id`, REST's Idempotency-Key): the session applies
    # each key once, so a message resent after a dropped connection is not run twice.
    idempotency_key: str | None = None


# The last idempotency keys a session took, kept in its context: the check and the input are
# stored in the same commit.
TAKEN_KEYS = "_inputKeys"
TAKEN_KEYS_KEPT = 100


def _taken_keys(context: Mapping[str, Any]) -> list[str]:
    # Sessions stored before the keys moved here kept the socket's frame ids under `_socketFrames`.
    keys = context.get(TAKEN_KEYS, context.get("_socketFrames"))
    return [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []


class SessionExists(Exception):
    """A request that may only create a session met one that is already stored."""


class Sessions:
    """The user side of the runtime: every change to a session happens in a locked turn."""

    def __init__(self, store: Store, endpoints: Mapping[str, Endpoint],
                 services: Mapping[str, Any] | None = None, metrics: Metrics | None = None,
                 limits: InputLimits | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self.store = store
        self.clock = clock
        self.limits = limits or InputLimits()
        self.endpoints = dict(endpoints)
        self.services: dict[str, Any] = dict(services or {})
        self.metrics = metrics or Metrics()
        self._providers: dict[str, SessionProvider] = {}

    def endpoint(self, url_token: str) -> Endpoint | None:
        return self.endpoints.get(url_token)

    def add_provider(self, handover_type: str, provider: SessionProvider) -> None:
        """The provider of the endpoints whose handover type this is: their nodes, inputs, typing
        and session ends reach it, and only theirs."""
        self._providers[handover_type] = provider
        self.services[service_key(handover_type)] = provider

    def provider_of(self, endpoint: Endpoint | None) -> SessionProvider | None:
        if endpoint is None or endpoint.handover_type is None:
            return None
        return self._providers.get(endpoint.handover_type)

    async def load_session(self, key: SessionKey) -> Session:
        doc = await self.store.get_session(key.id)
        return Session.from_doc(doc) if doc else Session(key)

    @asynccontextmanager
    async def turn(self, endpoint: Endpoint, key: SessionKey,
                   input_extra: Mapping[str, Any] | None = None, *, must_be_new: bool = False,
                   idempotency_key: str | None = None) -> AsyncIterator[Turn]:
        """Lock the session, yield a turn to change it, then store session and events together.

        `must_be_new`: SessionExists (and nothing changes) when the session, or an event log of
        its ids, is already stored; a repeat too, so that a key never stands in for a session token.
        `idempotency_key`: a key the session took already yields a discarded turn; a new one is
        kept with the turn.
        """
        async with self.store.lock(key.id):
            doc = await self.store.get_session(key.id)
            if must_be_new and (doc is not None or await self.store.read_events(key.id, 0, limit=1)):
                raise SessionExists(key.url_token)
            session = Session.from_doc(doc) if doc else Session(key)
            taken = _taken_keys(session.context)
            repeat = idempotency_key is not None and idempotency_key in taken
            turn = Turn(session, endpoint, {**self.blank_input(session), **(input_extra or {})})
            if repeat:
                turn.discard()
            elif idempotency_key is not None:
                session.context[TAKEN_KEYS] = [*taken, idempotency_key][-TAKEN_KEYS_KEPT:]
            yield turn
            if turn.discarded:
                return
            for event in turn.events:
                if event["type"] == "output":
                    session.record(event["source"], event.get("text"))
            session.updated = self.clock.time()
            turn.events = await self.store.commit(key.id, session.to_doc(), turn.events, ends_turn=True,
                                                  claims=turn.claims)
        for callback in turn.after_commit:
            try:
                await callback()
            except Exception:
                log.exception("after-commit callback failed for session of endpoint %s", endpoint.url_token)

    async def run_flow(self, turn: Turn, *, start: str | None = None) -> None:
        """Run the endpoint's flow inside a turn, from the session pointer (or `start`)."""
        await run_flow(turn, self.services, start=start)

    async def handle_input(self, endpoint: Endpoint, user_input: UserInput, *,
                           must_be_new: bool = False) -> list[Event]:
        """Run one input; returns the stored events it produced (with seq).

        `must_be_new`: only as a session's first input (SessionExists otherwise, nothing changes).
        """
        self.limits.check(user_input.text, user_input.data)
        key = SessionKey(endpoint.url_token, user_input.user_id, user_input.session_id)
        async with self.turn(endpoint, key, must_be_new=must_be_new,
                             idempotency_key=user_input.idempotency_key) as turn:
            if turn.discarded:
                # Taken before (the client did not hear so): nothing runs or is stored again.
                self.metrics.user_inputs.inc(endpoint=endpoint.url_token, outcome="repeat")
                return []
            turn.session.update_profile(user_input.data)
            turn.session.record("user", user_input.text)
            taken = await self.apply_input(turn, user_input.text, user_input.data)
        self.metrics.user_inputs.inc(endpoint=endpoint.url_token, outcome="handover" if taken else "flow")
        return turn.events

    async def apply_input(self, turn: Turn, text: str | None, data: dict[str, Any] | None) -> bool:
        """Give one input to the hooks, else to the flow, inside a turn; True when a hook took it.

        Also used for inputs held back while a handover was ending: they are applied in the turn
        that ends it, so the bot answers them in the same commit.
        """
        turn.input = {**self.blank_input(turn.session), "text": text, "data": data if data is not None else {}}
        provider = self.provider_of(turn.endpoint)
        if provider is not None and await provider.on_input(turn):
            return True
        await self.run_flow(turn)
        return False

    async def handle_typing(self, endpoint: Endpoint, key: SessionKey) -> None:
        """The user is typing: only a handover cares (the flow does not run, the session is not read)."""
        if (provider := self.provider_of(endpoint)) is not None:
            await provider.on_typing(endpoint, key)

    async def delete_session(self, key: SessionKey, *, idle_before: float | None = None) -> bool:
        """Delete a session and its events; False when there is none (or, with `idle_before`, when
        it was used since: it expires only while idle). An end hook that raises keeps the session
        unchanged."""
        after: list[AfterEnd] = []
        async with self.store.lock(key.id):
            doc = await self.store.get_session(key.id)
            if doc is None:
                return False
            session = Session.from_doc(doc)
            if idle_before is not None and session.updated >= idle_before:
                return False
            for provider in self._ending(key):
                if (work := await provider.on_session_end(session)) is not None:
                    after.append(work)
            await self.store.delete_session(key.id)
        self.metrics.sessions_ended.inc(reason="deleted" if idle_before is None else "expired")
        for work in after:
            try:
                await work()
            except Exception:
                log.exception("clean-up after deleting a session of endpoint %s failed", key.url_token)
        return True

    def _ending(self, key: SessionKey) -> list[SessionProvider]:
        """Who hears of a session's end: its endpoint's provider; every provider when the endpoint
        is gone from the config (a handover it left open is still ended)."""
        endpoint = self.endpoint(key.url_token)
        if endpoint is None:
            return list(self._providers.values())
        provider = self.provider_of(endpoint)
        return [provider] if provider is not None else []

    async def expire_idle(self, idle_seconds: float, *, batch: int = 100) -> int:
        """Delete up to `batch` sessions unused for `idle_seconds`; returns how many went."""
        before = self.clock.time() - idle_seconds
        expired = 0
        for key_id in await self.store.idle_sessions(before, batch):
            key = SessionKey.from_id(key_id)
            try:
                expired += await self.delete_session(key, idle_before=before)
            except Exception as exc:  # kept; the next pass tries again
                log.warning("an idle session of endpoint %s was kept for now: %s", key.url_token, exc)
        return expired

    @staticmethod
    def blank_input(session: Session) -> dict[str, Any]:
        return {"text": None, "data": {}, "profile": dict(session.profile)}
