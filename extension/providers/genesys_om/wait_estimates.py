"""While a handover waits in its queue, the user hears Genesys' estimated wait (docs/CONTRACT.md 6.2).

Genesys is asked (GET .../routing/queues/{queueId}/estimatedwaittime) when the handover starts and
then every `wait_estimate_seconds` (at least 30 s apart) until an agent joins or it ends. A new
estimate reaches the user as a `handover` event `{"status": "queue", "estimatedWaitSeconds"}`;
the same estimate again, or none (Genesys cannot estimate, or fails), tells the user nothing.
The replica that started a handover keeps its estimates; after a restart they stop for the
handovers started before it (the wait itself is unaffected).
"""

from __future__ import annotations

import asyncio
import logging

from ...clock import SYSTEM_CLOCK, Clock
from ...flows.events import handover_event
from ...genesys import GenesysError
from .provider import GenesysHandover
from .state import BY_CONVERSATION, HandoverState

log = logging.getLogger("extension.providers.genesys_om.wait_estimates")


class WaitEstimates:
    """One small loop per queued handover started here, stopped when it leaves the queue."""

    def __init__(self, handover: GenesysHandover, interval: float, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.handover = handover
        self.interval = interval
        self.clock = clock
        self._loops: dict[str, asyncio.Task[None]] = {}
        if interval > 0:
            handover.followers.follow(started=self._started, ended=self._ended)

    async def _started(self, connection: str, conversation_id: str) -> None:
        if conversation_id not in self._loops:
            self._loops[conversation_id] = asyncio.create_task(self._run(connection, conversation_id),
                                                               name=f"wait-estimate-{conversation_id}")

    async def _ended(self, state: HandoverState) -> None:
        task = self._loops.pop(state.conversation_id, None)
        if task is not None:
            task.cancel()

    async def _run(self, connection: str, conversation_id: str) -> None:
        told: int | None = None
        try:
            while True:
                state = await self._queued(conversation_id)
                if state is None:
                    return
                seconds = await self._estimate(connection, state)
                if seconds is not None and seconds != told:
                    if not await self._tell(conversation_id, seconds):
                        return
                    told = seconds
                await self.clock.sleep(self.interval)
        finally:
            self._loops.pop(conversation_id, None)

    async def _queued(self, conversation_id: str) -> HandoverState | None:
        """The handover of this conversation while it is still waiting for its agent."""
        found = await self.handover.session_of(BY_CONVERSATION, conversation_id)
        if found is None:
            return None
        doc = await self.handover.store.get_session(found[1].id)
        state = HandoverState.from_doc(doc.get("handover") if doc else None)
        if state is None or state.conversation_id != conversation_id or state.status != "queue":
            return None
        return state

    async def _estimate(self, connection: str, state: HandoverState) -> int | None:
        conn = self.handover.connections.get(connection)
        if conn is None:
            return None
        try:
            return await conn.client.estimated_wait_seconds(state.queue_id, state.conversation_id)
        except GenesysError as exc:
            log.info("conversation %s: no estimated wait from Genesys: %s", state.conversation_id, exc)
            return None

    async def _tell(self, conversation_id: str, seconds: int) -> bool:
        """Add the estimate to the user's events; False when the handover left the queue meanwhile."""
        found = await self.handover.session_of(BY_CONVERSATION, conversation_id)
        if found is None:
            return False
        async with self.handover.sessions.turn(*found) as turn:
            state = HandoverState.from_doc(turn.session.handover)
            if state is None or state.conversation_id != conversation_id or state.status != "queue":
                turn.discard()
                return False
            turn.events.append(handover_event("queue", estimatedWaitSeconds=seconds))
        return True

    async def close(self) -> None:
        tasks = list(self._loops.values())
        self._loops.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
