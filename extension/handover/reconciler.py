"""Catches ends that no event reported: quiet handovers are checked against Genesys."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..genesys import GenesysError, GenesysNotFound
from .ending import EndDetector
from .provider import GenesysHandover
from .state import BY_CONVERSATION, HandoverState

log = logging.getLogger("extension.handover.reconciler")


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


def agent_is_connected(conversation: dict[str, Any]) -> bool:
    """True when an agent is on the conversation (a `user.start` we may have missed)."""
    return any(isinstance(p, dict) and p.get("purpose") == "agent" and p.get("state") == "connected"
               for p in conversation.get("participants") or [])


class Reconciler:
    """Checks at most `batch` quiet handovers every `interval` seconds."""

    def __init__(self, handover: GenesysHandover, ending: EndDetector, *, interval: float,
                 idle: float, batch: int) -> None:
        self.handover = handover
        self.ending = ending
        self.interval = interval
        self.idle = idle
        self.batch = batch
        self._cursor = 0
        self.checks = 0
        # With several replicas only the holder of the reconciler lease runs the passes.
        self.leader: Callable[[], bool] = lambda: True
        # Also run each pass: restarts outboxes that a dead replica left behind.
        self.sweep: Callable[[], Awaitable[Any]] | None = None

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if not self.leader():
                continue
            try:
                await self.check_once()
                if self.sweep is not None:
                    await self.sweep()
            except Exception:
                log.exception("reconciler pass failed")

    async def check_once(self, *, everything: bool = False) -> int:
        """Check quiet handovers (or all with `everything`); returns how many were ended."""
        items = sorted((await self.handover.store.index_items(BY_CONVERSATION)).items())
        now = time.monotonic()
        quiet = [(cid, key) for cid, key in items
                 if everything or now - self.ending.last_signal.get(cid, float("-inf")) >= self.idle]
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
            await self.handover.store.index_delete(BY_CONVERSATION, cid)
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
        if state.status == "queue" and agent_is_connected(conversation):
            await self.handover.mark_active(cid)
        if conversation_is_over(conversation):
            log.info("conversation %s ended without an end event reaching us; ending the handover", cid)
            return 1 if await self.handover.finish(cid, "completed") else 0
        return 0

