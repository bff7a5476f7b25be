"""End detection through queue topics: which conversations are ours, and what their participants did.

A queue topic (`v2.routing.queues.{queueId}.conversations.messages`) carries every message
conversation of the queue, ours or not, each time with all its participants and their states. The
conversations this connection's handovers own are kept in memory, so an event of another one costs
a set lookup. For ours, the states are compared with the ones seen before and turned into the events
the end rules of docs/CONTRACT.md 7.3 read: an agent joining (`user.start`), an agent leaving
(`user.end`, a transfer or not), the customer leaving (`customer.end`). A repeated event changes
nothing, so one delivered twice (a renewed channel) is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...genesys.notifications_topics import (
    ConversationEvent,
    QueueConversation,
    QueueParticipant,
    detail_disconnect_type,
)


@dataclass
class _Owned:
    states: dict[str, str] = field(default_factory=dict)  # participant id -> its last state seen
    queues: frozenset[str] = frozenset()  # the queues it was last seen in (ours to subscribe)


@dataclass(frozen=True)
class Observed:
    """What one queue event means: end-rule events, and queue topics to subscribe or leave."""

    events: tuple[ConversationEvent, ...] = ()
    joined: frozenset[str] = frozenset()
    left: frozenset[str] = frozenset()


NOTHING = Observed()


class QueueWatch:
    """The owned conversations of one connection and the queues they are in."""

    def __init__(self) -> None:
        self._owned: dict[str, _Owned] = {}
        self._members: dict[str, set[str]] = {}  # queue id -> owned conversations in it
        # The connection's queue: subscribed from the first handover on (one topic, no churn).
        self.home: str | None = None

    def __contains__(self, conversation_id: object) -> bool:
        return conversation_id in self._owned

    def __len__(self) -> int:
        return len(self._owned)

    def owned(self) -> set[str]:
        return set(self._owned)

    def queues(self) -> set[str]:
        """The queues whose topics are needed: the connection's and those owned conversations went to."""
        needed = {q for q, members in self._members.items() if members}
        if self.home is not None:
            needed.add(self.home)
        return needed

    def own(self, conversation_id: str) -> None:
        self._owned.setdefault(conversation_id, _Owned())

    def disown(self, conversation_id: str) -> None:
        owned = self._owned.pop(conversation_id, None)
        if owned is not None:
            self._move(conversation_id, owned.queues, frozenset())

    def clear(self) -> None:
        self._owned.clear()
        self._members.clear()

    def observe(self, change: QueueConversation) -> Observed:
        """The meaning of one queue event (NOTHING for a conversation that is not ours)."""
        owned = self._owned.get(change.conversation_id)
        if owned is None:
            return NOTHING
        before = self.queues()
        queues = change.queues()
        if queues and queues != owned.queues:
            self._move(change.conversation_id, owned.queues, queues)
            owned.queues = queues
        after = self.queues()
        return Observed(tuple(self._events(owned, change)), frozenset(after - before), frozenset(before - after))

    def _move(self, conversation_id: str, old: frozenset[str], new: frozenset[str]) -> None:
        for queue in old - new:
            members = self._members.get(queue)
            if members is not None:
                members.discard(conversation_id)
                if not members:
                    del self._members[queue]
        for queue in new - old:
            self._members.setdefault(queue, set()).add(conversation_id)

    def _events(self, owned: _Owned, change: QueueConversation) -> list[ConversationEvent]:
        """Agents that left first, then agents that joined, then the customer: a transfer's end and
        its next agent arrive in the order the debounce expects."""
        ended: list[ConversationEvent] = []
        started: list[ConversationEvent] = []
        customer_left: list[ConversationEvent] = []
        for p in change.participants:
            before = owned.states.get(p.id)
            owned.states[p.id] = p.state
            if before == p.state:
                continue
            if p.purpose == "agent":
                if p.gone:
                    ended.append(_event(change, p, "user.end"))
                elif p.state in ("alerting", "connected") and before != "connected":
                    started.append(_event(change, p, "user.start"))
            elif p.purpose == "customer" and p.gone:
                customer_left.append(_event(change, p, "customer.end"))
        return ended + started + customer_left


def _event(change: QueueConversation, participant: QueueParticipant, kind: str) -> ConversationEvent:
    return ConversationEvent(
        conversation_id=change.conversation_id, kind=kind,
        disconnect_type=detail_disconnect_type(participant.disconnect_type) if participant.gone else None,
        participant_id=participant.id, user_id=participant.user_id, queue_id=participant.queue_id,
        topic=change.topic, participant_state=participant.state)
