"""Catches ends that no event reported: quiet handovers are checked against Genesys."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ...clock import SYSTEM_CLOCK, Clock
from ...genesys import GenesysError, GenesysNotFound
from ...repeating import RepeatedFailure
from . import start_intents
from .answering import agent_is_connected
from .disconnects import retry_pending
from .ending import EndDetector
from .provider import GenesysHandover
from .state import BY_CONVERSATION, BY_USER, ENDED, HandoverState, ended_recently
from .unwatched import UNWATCHED

log = logging.getLogger("extension.providers.genesys_om.reconciler")

# BY_USER entries looked at per pass for staleness (store reads only, no Genesys call).
PRUNE_BATCH = 500


def conversation_is_over(conversation: dict[str, Any]) -> bool:
    """True when the customer and every agent have left (an unanswered queue is not over)."""
    participants = [p for p in conversation.get("participants") or [] if isinstance(p, dict)]
    customers = [p for p in participants if p.get("purpose") == "customer"]
    agents = [p for p in participants if p.get("purpose") == "agent"]
    if not customers:
        return False
    customer_gone = all(p.get("state") == "disconnected" for p in customers)
    agents_gone = all(p.get("state") == "disconnected" for p in agents)
    return customer_gone and agents_gone


class Reconciler:
    """Checks at most `batch` quiet handovers every `interval` seconds, and keeps the records tidy."""

    def __init__(self, handover: GenesysHandover, ending: EndDetector, *, interval: float,
                 idle: float, batch: int, unwatched_interval: float | None = None,
                 leader: Callable[[], bool] | None = None, sweep: Callable[[], Awaitable[Any]] | None = None,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.handover = handover
        self.clock = clock
        self.ending = ending
        self.interval = interval
        self.unwatched_interval = interval if unwatched_interval is None else unwatched_interval
        self._unwatched_cursor = 0
        self.idle = idle
        self.batch = batch
        self._cursor = 0
        self._prune_cursor = 0
        self.checks = 0
        self._failures = RepeatedFailure(log, "reconciler pass")
        self._unwatched_failures = RepeatedFailure(log, "reconciler pass over unwatched handovers")
        # With several replicas only the holder of the reconciler lease runs the passes.
        self.leader: Callable[[], bool] = leader or (lambda: True)
        # Also run each pass: restarts outboxes that a dead replica left behind.
        self.sweep = sweep

    async def run(self) -> None:
        while True:
            await self.clock.sleep(self.interval)
            if not self.leader():
                continue
            failure: Exception | None = None
            for job in (self.check_once, self.upkeep, self.sweep):
                try:
                    if job is not None:
                        await job()
                except Exception as exc:  # the other jobs still run
                    failure = failure or exc
            if failure is not None:
                self._failures.failed(failure)
            else:
                self._failures.succeeded()

    async def run_unwatched(self) -> None:
        """The faster pass over handovers that no notification watches."""
        while True:
            await self.clock.sleep(self.unwatched_interval)
            if not self.leader():
                continue
            try:
                await self.check_unwatched()
            except Exception as exc:
                self._unwatched_failures.failed(exc)
            else:
                self._unwatched_failures.succeeded()

    async def check_unwatched(self) -> int:
        """Check up to `batch` unwatched handovers (round robin); returns how many were ended."""
        store = self.handover.store
        unwatched = sorted(await store.index_items(UNWATCHED))
        if not unwatched:
            return 0
        active = await store.index_items(BY_CONVERSATION)
        for cid in [cid for cid in unwatched if cid not in active]:
            await store.index_delete(UNWATCHED, cid)  # ended meanwhile, maybe on a replica now gone
        items = [(cid, active[cid]) for cid in unwatched if cid in active]
        if not items:
            return 0
        start = self._unwatched_cursor % len(items)
        chosen = (items[start:] + items[:start])[: self.batch]
        self._unwatched_cursor = start + len(chosen)
        ended = 0
        for cid, key_id in chosen:
            ended += await self._check(cid, key_id)
        return ended

    async def upkeep(self) -> None:
        """Retry unconfirmed disconnects, undo starts that never committed, prune stale entries."""
        store = self.handover.store
        await retry_pending(store, self.handover.connections)
        # A start older than the idle time and not committed is dead (the session lock tells for sure).
        await start_intents.recover(store, self.handover.connections, self.idle, self.clock.time())
        await self.prune_users()

    async def check_once(self, *, everything: bool = False) -> int:
        """Check quiet handovers (or all with `everything`); returns how many were ended."""
        items = sorted((await self.handover.store.index_items(BY_CONVERSATION)).items())
        if everything:
            # All of them, still at most `batch` per `interval` (after a reconnect, the rate bound holds).
            ended = 0
            for start in range(0, len(items), self.batch):
                if start:
                    await self.clock.sleep(self.interval)
                for cid, key_id in items[start:start + self.batch]:
                    ended += await self._check(cid, key_id)
            return ended
        now = self.clock.monotonic()
        quiet = [(cid, key) for cid, key in items
                 if now - self.ending.last_signal.get(cid, float("-inf")) >= self.idle]
        if not quiet:
            return 0
        start = self._cursor % len(quiet)
        chosen = (quiet[start:] + quiet[:start])[: self.batch]
        self._cursor = start + len(chosen)
        ended = 0
        for cid, key_id in chosen:
            ended += await self._check(cid, key_id)
        return ended

    async def _check(self, cid: str, key_id: str) -> int:
        session = await self.handover.store.get_session(key_id)
        state = HandoverState.from_doc(session.get("handover") if session else None)
        if state is None or state.conversation_id != cid:
            await self._prune(BY_CONVERSATION, cid, key_id, _owns_conversation(cid))
            return 0
        conn = self.handover.connections.get(state.connection)
        if conn is None:
            return 0
        self.checks += 1
        try:
            conversation = await conn.client.get_message_conversation(cid)
        except GenesysNotFound:
            conversation = {"participants": [{"purpose": "customer", "state": "disconnected"}]}
        except GenesysError as exc:
            log.info("reconciler could not read conversation %s: %s", cid, exc)
            return 0
        self.ending.signal(cid)
        connected = agent_is_connected(conversation)
        if connected and (state.status == "queue" or state.pending_end_at is not None):
            await self.handover.mark_active(cid)
        if conversation_is_over(conversation) or (
                not connected and state.pending_end_at is not None
                and self.clock.time() - state.pending_end_at > self.ending.acw_timeout):
            # The second case: the replica that was confirming the agent's end is gone; no agent came.
            log.info("conversation %s ended without an end event reaching us; ending the handover", cid)
            return 1 if await self.handover.finish(cid, "completed") else 0
        return 0

    async def prune_users(self) -> int:
        """Drop BY_USER entries whose session no longer has that handover; returns how many."""
        store = self.handover.store
        users = sorted((await store.index_items(BY_USER)).items())
        if not users:
            return 0
        start = self._prune_cursor % len(users)
        chosen = (users[start:] + users[:start])[:PRUNE_BATCH]
        self._prune_cursor = start + len(chosen)
        pruned = 0
        now = self.clock.time()
        for user_id, key_id in chosen:
            doc = await store.get_session(key_id)
            state = HandoverState.from_doc(doc.get("handover") if doc else None)
            if (state is None or state.genesys_user_id != user_id) and not _ended_recently(doc, user_id, now):
                pruned += await self._prune(BY_USER, user_id, key_id, _owns_user(user_id))
        return pruned

    async def _prune(self, namespace: str, genesys_id: str, key_id: str,
                     owns: Callable[[HandoverState], bool]) -> int:
        """Delete an index entry that looked stale, once sure under the session lock."""
        store = self.handover.store
        async with store.lock(key_id):
            # Entries are written before a start commits: holding the lock, no start is running. One
            # that died is undone from its intent (which names its ids), so its entries may go now.
            if await store.index_get(namespace, genesys_id) != key_id:
                return 0
            doc = await store.get_session(key_id)
            state = HandoverState.from_doc(doc.get("handover") if doc else None)
            if state is not None and owns(state):
                return 0
            if namespace == BY_USER and _ended_recently(doc, genesys_id, self.clock.time()):
                return 0  # its late agent messages still reach the session
            await store.index_delete(namespace, genesys_id)
        log.info("stale %s entry %s removed", namespace, genesys_id)
        return 1


def _ended_recently(doc: dict[str, Any] | None, user_id: str, now: float) -> bool:
    context = (doc or {}).get("context")
    return isinstance(context, dict) and ended_recently(context.get(ENDED), user_id, now) is not None


def _owns_user(user_id: str) -> Callable[[HandoverState], bool]:
    return lambda state: state.genesys_user_id == user_id


def _owns_conversation(conversation_id: str) -> Callable[[HandoverState], bool]:
    return lambda state: state.conversation_id == conversation_id
