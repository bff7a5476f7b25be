"""When a handover ends: notification and HTTP end events through the transfer debounce."""

from __future__ import annotations

import asyncio

from ...clock import SYSTEM_CLOCK, Clock
from ...genesys.notifications_topics import ConversationEvent
from ...handover import transitions
from .answering import AgentWatch
from .provider import GenesysHandover
from .state import BY_CONVERSATION, HandoverState


class EndDetector:
    """A `user.end` that is not a transfer ends the handover unless a `user.start` follows in time."""

    def __init__(self, handover: GenesysHandover, acw_timeout: float, agents: AgentWatch, *,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.handover = handover
        self.clock = clock
        self.acw_timeout = acw_timeout
        # After a `user.start`: is the agent connected, or is the conversation only ringing?
        self.agents = agents
        self._pending: dict[str, asyncio.Task[None]] = {}
        # Monotonic time of the last sign of life per conversation (for the reconciler).
        self.last_signal: dict[str, float] = {}
        handover.followers.follow(ended=self._ended)

    def pending(self, conversation_id: str) -> asyncio.Task[None] | None:
        """The wait that confirms this conversation's end, while one runs (for tests and metrics)."""
        return self._pending.get(conversation_id)

    def signal(self, conversation_id: str | None) -> None:
        if conversation_id:
            self.last_signal[conversation_id] = self.clock.monotonic()

    async def on_event(self, connection: str, event: ConversationEvent) -> None:
        cid = event.conversation_id
        self.signal(cid)
        if event.kind == "user.start":
            self._cancel(cid)
            if event.participant_state is not None:
                # From a queue topic: the event says whether the agent answered, and the next one
                # tells when they do, so nothing needs to read the conversation meanwhile.
                await self.handover.mark_active(cid, connection=connection,
                                                connected=event.participant_state == "connected")
            # Maybe only ringing at the agent (alerting): active once the agent is connected.
            elif await self.handover.mark_active(cid, connection=connection, connected=False):
                self.agents.watch(connection, cid)
        elif event.kind in ("user.end", "acw"):
            self.agents.stop(cid)
            if event.is_transfer:  # a ring that timed out is one too (NO_ANSWER_TRANSFER)
                found = await self.handover.session_of(BY_CONVERSATION, cid)
                if found is not None:
                    transitions.log_transition(transitions.TRANSFERRED, found[1], connection, cid,
                                               f"{event.disconnect_type}, waiting for the next agent")
                return
            if cid not in self._pending:
                self._pending[cid] = asyncio.create_task(self._end_later(cid, connection), name=f"end-{cid}")
                # Recorded in the session, for every replica: user messages are held, not sent.
                await self.handover.mark_ending(cid, connection=connection)
        elif event.kind == "customer.end":
            self._cancel(cid)
            self.agents.stop(cid)
            await self.handover.finish(cid, "completed", connection=connection)

    async def _end_later(self, cid: str, connection: str) -> None:
        try:
            await self.clock.sleep(self.acw_timeout)
        except asyncio.CancelledError:
            return
        self._pending.pop(cid, None)
        await self.handover.finish(cid, "completed", connection=connection)

    def _cancel(self, cid: str) -> None:
        task = self._pending.pop(cid, None)
        if task is not None:
            task.cancel()

    async def _ended(self, state: HandoverState) -> None:
        self.forget(state.conversation_id)

    def forget(self, cid: str) -> None:
        self._cancel(cid)
        self.agents.stop(cid)
        self.last_signal.pop(cid, None)

    async def close(self) -> None:
        await self.agents.close()
        tasks = list(self._pending.values())
        self._pending.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
