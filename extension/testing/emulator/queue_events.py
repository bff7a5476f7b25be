"""Queue conversation topics: each change of a message conversation, told to the queues it is in.

`v2.routing.queues.{queueId}.conversations.messages` carries the whole conversation with its
participants and their states, shaped like the SDK's QueueConversationMessageEventTopicMessageConversation.
A change is published to the queues the conversation was in before it and is in after it (a queue
participant or an agent routed from that queue, not disconnected): a transfer reaches the queue it
leaves and the one it joins, the end reaches the queue it ended in.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .channels import NotificationHub
from .config import EmulatorConfig
from .ids import iso
from .state import Conversation, Participant

QUEUE_TOPIC = "v2.routing.queues.{queue_id}.conversations.messages"
# Not in the topic: a participant that has left takes no part in routing.
_GONE = ("disconnected", "terminated")


def queue_topic(queue_id: str) -> str:
    """The notification topic of a queue's message conversations."""
    return QUEUE_TOPIC.format(queue_id=queue_id)


def participant_json(config: EmulatorConfig, participant: Participant) -> dict[str, Any]:
    """A participant as QueueConversationMessageEventTopicMessageMediaParticipant."""
    body: dict[str, Any] = {
        "id": participant.id,
        "name": participant.name,
        "startTime": iso(participant.start_time),
        "purpose": participant.purpose,
        "state": participant.state,
        "direction": "inbound",
        "held": False,
        "type": "open",
        "attributes": dict(participant.attributes),
    }
    if participant.address is not None:
        body["address"] = participant.address
    if participant.connected_time is not None:
        body["connectedTime"] = iso(participant.connected_time)
    if participant.end_time is not None:
        body["endTime"] = iso(participant.end_time)
    if participant.disconnect_type is not None:
        body["disconnectType"] = participant.disconnect_type  # lower case, as in the model's enum
    if participant.user_id is not None:
        body["user"] = {"id": participant.user_id, "name": participant.name}  # a UriReference: id, name
    if participant.queue_id is not None:
        queue = config.queue(participant.queue_id)
        body["queue"] = {"id": participant.queue_id, **({"name": queue.name} if queue is not None else {})}
    if participant.purpose == "agent":
        body["wrapupRequired"] = participant.state == "disconnected"
    return body


def conversation_json(config: EmulatorConfig, conversation: Conversation) -> dict[str, Any]:
    """The event body: QueueConversationMessageEventTopicMessageConversation."""
    return {
        "id": conversation.id,
        "participants": [participant_json(config, p) for p in conversation.participants],
        "otherMediaUris": [],
    }


def queues_of(conversation: Conversation) -> set[str]:
    """The queues a conversation is in now."""
    return {p.queue_id for p in conversation.participants
            if p.purpose in ("acd", "agent") and p.queue_id is not None and p.state not in _GONE}


class QueueEvents:
    """Publishes each conversation change on the topics of its queues."""

    def __init__(self, config: EmulatorConfig, hub: NotificationHub) -> None:
        self._config = config
        self._hub = hub
        self._last: dict[str, set[str]] = {}  # conversation id -> the queues its last change reached
        self._later: set[asyncio.Task[None]] = set()

    async def changed(self, conversation: Conversation) -> None:
        now = queues_of(conversation)
        before = self._last.pop(conversation.id, set())
        if now:
            self._last[conversation.id] = now
        # Only the topics someone reads: the published log (and dropped-event faults) of tests that
        # watch per-conversation topics stay as they were.
        topics = [queue_topic(q) for q in sorted(now | before) if self._hub.subscribers(queue_topic(q))]
        if not topics:
            return
        body = conversation_json(self._config, conversation)
        for topic in topics:
            await self._hub.publish(topic, body)

    def changed_soon(self, conversation: Conversation) -> None:
        """From code that cannot wait (a message arriving): published on the next loop turn."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # plain Python code, no loop: nobody can be subscribed
            return
        task = loop.create_task(self.changed(conversation))
        self._later.add(task)
        task.add_done_callback(self._later.discard)
