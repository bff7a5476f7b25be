"""Is an agent really there? `user.start` may come while the conversation only rings at an agent.

Unconfirmed: Genesys is reported to send `user.start` when the conversation is offered to an agent
(alerting), before they accept, and a ring that times out as a transfer-type `user.end`. The event
itself does not say which (the SDK's UserStartDetailEventTopicUserStartEvent has no state), so after
a `user.start` the conversation is read until its agent participant is connected (the handover is
then active), the ring ends, or the handover ends. The agent's first message also makes it active.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from ...clock import SYSTEM_CLOCK, Clock
from ...genesys import GenesysError, GenesysNotFound
from .connection import GenesysConnection

log = logging.getLogger("extension.providers.genesys_om.answering")

# A ring lasts seconds to a few minutes; a watch whose end event went missing stops after this many
# reads (the reconciler still finds a connected agent later).
MAX_CHECKS = 120


def _agents(conversation: dict[str, Any], state: str) -> bool:
    return any(isinstance(p, dict) and p.get("purpose") == "agent" and p.get("state") == state
               for p in conversation.get("participants") or [])


def agent_is_connected(conversation: dict[str, Any]) -> bool:
    """True when an agent is on the conversation (connected, not only ringing)."""
    return _agents(conversation, "connected")


def agent_is_ringing(conversation: dict[str, Any]) -> bool:
    """True while the conversation is offered to an agent who has not answered (alerting)."""
    return _agents(conversation, "alerting")


class Activation(Protocol):
    """What the watch tells once an agent is connected (the handover provider)."""

    async def mark_active(self, conversation_id: str, *, connection: str | None = None,
                          connected: bool = True) -> bool: ...


class AgentWatch:
    """Reads a conversation every `interval` seconds after a `user.start` until its agent is connected."""

    def __init__(self, handover: Activation, connections: dict[str, GenesysConnection], interval: float, *,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.handover = handover
        self.clock = clock
        self.connections = connections
        self.interval = interval
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def watch(self, connection: str, conversation_id: str) -> None:
        """Start (or restart) watching a conversation that an agent is being connected to."""
        self.stop(conversation_id)
        conn = self.connections.get(connection)
        if conn is not None:
            self._tasks[conversation_id] = asyncio.create_task(
                self._run(conn, conversation_id), name=f"agent-{conversation_id}")

    def watching(self, conversation_id: str) -> bool:
        return conversation_id in self._tasks

    def stop(self, conversation_id: str) -> None:
        task = self._tasks.pop(conversation_id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, conn: GenesysConnection, cid: str) -> None:
        try:
            for check in range(MAX_CHECKS):
                if check:
                    await self.clock.sleep(self.interval)
                if await self._check(conn, cid, first=check == 0):
                    return
            log.info("conversation %s: no agent answered after %d checks; left to the reconciler", cid, MAX_CHECKS)
        finally:
            with contextlib.suppress(KeyError):
                if self._tasks[cid] is asyncio.current_task():
                    del self._tasks[cid]

    async def _check(self, conn: GenesysConnection, cid: str, *, first: bool) -> bool:
        """One read; True when the watch is over."""
        try:
            conversation = await conn.client.get_message_conversation(cid)
        except GenesysNotFound:
            return True
        except GenesysError as exc:
            log.info("conversation %s: could not read whether its agent answered: %s", cid, exc)
            return False
        if agent_is_connected(conversation):
            await self.handover.mark_active(cid, connection=conn.name)
            return True
        # Neither ringing nor connected: the ring ended and its `user.end` has not come (yet). The
        # first read may come before Genesys shows the ringing agent: it does not end the watch.
        return not first and not agent_is_ringing(conversation)
