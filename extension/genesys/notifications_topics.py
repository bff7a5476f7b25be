"""Conversation topic names for the Notifications API, and reading the events they carry."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import MalformedMessage

HEARTBEAT_TOPIC = "channel.metadata"
SOCKET_CLOSING_TOPIC = "v2.system.socket_closing"

TOPIC_KINDS = ("customer.end", "user.start", "user.end", "acw")
# docs/CONTRACT.md 7.3: what a handover subscribes to; `acw` is available for callers that want it.
HANDOVER_KINDS = ("customer.end", "user.start", "user.end")

_PREFIX = "v2.detail.events.conversation."
_TOPIC = re.compile(
    r"^v2\.detail\.events\.conversation\.(?P<id>[^.\s]+)\.(?P<kind>customer\.end|user\.start"
    r"|user\.end|acw)$"
)


@dataclass(frozen=True)
class ConversationEvent:
    """A participant joined or left a conversation (one of TOPIC_KINDS)."""

    conversation_id: str
    kind: str
    disconnect_type: str | None = None
    participant_id: str | None = None
    user_id: str | None = None
    queue_id: str | None = None
    event_time: str | int | None = None
    topic: str | None = None
    # The participant's state when the event comes from a queue topic (`connected`, `alerting`):
    # a detail event does not say whether the agent answered or only rings.
    participant_state: str | None = None

    @property
    def is_transfer(self) -> bool:
        """True when this end is a transfer, so the handover is not over."""
        return is_transfer(self.disconnect_type)


def conversation_topic(conversation_id: str, kind: str) -> str:
    """`v2.detail.events.conversation.{id}.{kind}`."""
    if kind not in TOPIC_KINDS:
        raise ValueError(f"topic kind must be one of {TOPIC_KINDS}, not {kind!r}")
    if not conversation_id or "." in conversation_id or any(c.isspace() for c in conversation_id):
        raise ValueError(f"not a conversation id: {conversation_id!r}")
    return f"{_PREFIX}{conversation_id}.{kind}"


def conversation_topics(
    conversation_id: str, kinds: Iterable[str] = HANDOVER_KINDS
) -> list[str]:
    """The topics to subscribe to for one conversation."""
    return [conversation_topic(conversation_id, kind) for kind in kinds]


_QUEUE_TOPIC = re.compile(r"^v2\.routing\.queues\.(?P<id>[^.\s]+)\.conversations\.messages$")
QUEUE_TOPIC_PREFIX = "v2.routing.queues."


def queue_topic(queue_id: str) -> str:
    """`v2.routing.queues.{queueId}.conversations.messages`: every message conversation of a queue."""
    if not queue_id or "." in queue_id or any(c.isspace() for c in queue_id):
        raise ValueError(f"not a queue id: {queue_id!r}")
    return f"{QUEUE_TOPIC_PREFIX}{queue_id}.conversations.messages"


def parse_queue_topic(topic: str) -> str | None:
    """The queue id of a queue conversation topic; None for any other topic."""
    match = _QUEUE_TOPIC.match(topic)
    return match["id"] if match else None


def parse_topic(topic: str) -> tuple[str, str] | None:
    """(conversation id, kind) for a conversation topic; None for any other topic."""
    match = _TOPIC.match(topic)
    return (match["id"], match["kind"]) if match else None


def is_transfer(disconnect_type: str | None) -> bool:
    """Any `*TRANSFER` disconnect type (TRANSFER, CONSULT_TRANSFER, ...)."""
    return isinstance(disconnect_type, str) and disconnect_type.upper().endswith("TRANSFER")


def is_heartbeat(frame: Mapping[str, Any]) -> bool:
    """A `channel.metadata` frame: the socket is alive, nothing happened."""
    return frame.get("topicName") == HEARTBEAT_TOPIC


def is_socket_closing(frame: Mapping[str, Any]) -> bool:
    """Genesys is about to close the socket: reconnect."""
    return frame.get("topicName") == SOCKET_CLOSING_TOPIC


def parse_event_frame(frame: Any) -> ConversationEvent | None:
    """Read `{topicName, eventBody}` (a WebSocket frame or EventBridge `detail`); None if not ours."""
    if not isinstance(frame, Mapping):
        raise MalformedMessage("notification frame must be a JSON object")
    detail = frame.get("detail")
    if isinstance(detail, Mapping) and "topicName" in detail:
        frame = detail  # An EventBridge envelope (docs/CONTRACT.md 7.4).
    topic = frame.get("topicName")
    if not isinstance(topic, str):
        raise MalformedMessage("notification frame has no topicName")
    parsed = parse_topic(topic)
    if parsed is None:
        return None
    body = frame.get("eventBody")
    if body is None:
        body = {}
    if not isinstance(body, Mapping):
        raise MalformedMessage("eventBody must be an object")
    conversation_id, kind = parsed
    return _event(conversation_id, kind, body, topic)


def parse_http_end_event(body: Any) -> ConversationEvent | None:
    """Read `{conversationId, topic, disconnectType}` from a workflow data action (docs/CONTRACT.md 7.4)."""
    if not isinstance(body, Mapping):
        raise MalformedMessage("end event must be a JSON object")
    if "topicName" in body or "detail" in body:
        return parse_event_frame(body)
    topic = _optional_str(body, "topic")
    conversation_id = _optional_str(body, "conversationId")
    if topic is None:
        raise MalformedMessage("end event has no topic")
    # Assumed: a workflow may send the full topic name or only its kind ("user.end"); both are
    # read, as no authoritative body shape for these events is published.
    parsed = parse_topic(topic)
    if parsed is not None:
        topic_id, kind = parsed
        conversation_id = conversation_id or topic_id
    elif topic in TOPIC_KINDS:
        kind = topic
    else:
        return None
    if not conversation_id:
        raise MalformedMessage("end event has no conversationId")
    return _event(conversation_id, kind, body, topic)


def _event(conversation_id: str, kind: str, body: Mapping[str, Any], topic: str) -> ConversationEvent:
    event_time = body.get("eventTime")
    if event_time is not None and (
        isinstance(event_time, bool) or not isinstance(event_time, str | int)
    ):
        raise MalformedMessage("eventTime must be a string or a number")
    return ConversationEvent(
        conversation_id=conversation_id,
        kind=kind,
        disconnect_type=_optional_str(body, "disconnectType"),
        participant_id=_optional_str(body, "participantId"),
        user_id=_optional_str(body, "userId"),
        queue_id=_optional_str(body, "queueId"),
        event_time=event_time,
        topic=topic,
    )


def _optional_str(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None or isinstance(value, str):
        return value or None
    raise MalformedMessage(f"{key} must be a string")


# Participant states of the queue topic's model that mean the participant has left.
GONE_STATES = ("disconnected", "terminated")


@dataclass(frozen=True)
class QueueParticipant:
    """One participant in a queue topic event (QueueConversationMessageEventTopicMessageMediaParticipant)."""

    id: str
    purpose: str
    state: str
    disconnect_type: str | None = None
    user_id: str | None = None
    queue_id: str | None = None

    @property
    def gone(self) -> bool:
        return self.state in GONE_STATES


@dataclass(frozen=True)
class QueueConversation:
    """A message conversation of a queue as its topic carries it: who takes part, in which state."""

    conversation_id: str
    topic_queue_id: str
    participants: tuple[QueueParticipant, ...]
    topic: str

    def queues(self) -> frozenset[str]:
        """The queues the conversation is in: of its queue (`acd`) participants that have not left."""
        return frozenset(p.queue_id for p in self.participants
                         if p.purpose == "acd" and p.queue_id and not p.gone)


# The participant's lower-case disconnectType, as the detail events spell it (docs/GENESYS_NOTES.md 7).
_DETAIL_DISCONNECT_TYPES = {
    "transfer": "TRANSFER",
    "transfer.conference": "CONFERENCE_TRANSFER",
    "transfer.consult": "CONSULT_TRANSFER",
    "transfer.forward": "FORWARD_TRANSFER",
    "transfer.noanswer": "NO_ANSWER_TRANSFER",
    "transfer.notavailable": "NOT_AVAILABLE_TRANSFER",
    "transfer.dnd": "DND_TRANSFER",
}


def detail_disconnect_type(participant_type: str | None) -> str | None:
    """`transfer.noanswer` -> `NO_ANSWER_TRANSFER`, `session.expired` -> `SESSION_EXPIRED`."""
    if participant_type is None:
        return None
    lowered = participant_type.lower()
    return _DETAIL_DISCONNECT_TYPES.get(lowered, lowered.upper().replace(".", "_"))


def parse_queue_frame(frame: Any) -> QueueConversation | None:
    """Read a queue topic frame `{topicName, eventBody}`; None for any other topic."""
    if not isinstance(frame, Mapping):
        raise MalformedMessage("notification frame must be a JSON object")
    topic = frame.get("topicName")
    if not isinstance(topic, str):
        raise MalformedMessage("notification frame has no topicName")
    queue_id = parse_queue_topic(topic)
    if queue_id is None:
        return None
    body = frame.get("eventBody")
    if not isinstance(body, Mapping):
        raise MalformedMessage("eventBody must be an object")
    conversation_id = _optional_str(body, "id")
    if conversation_id is None:
        raise MalformedMessage("queue conversation event has no id")
    raw = body.get("participants")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise MalformedMessage("participants must be a list")
    return QueueConversation(conversation_id, queue_id, tuple(_participant(p) for p in raw), topic)


def _participant(raw: Any) -> QueueParticipant:
    if not isinstance(raw, Mapping):
        raise MalformedMessage("a participant must be an object")
    pid, purpose, state = (_optional_str(raw, key) for key in ("id", "purpose", "state"))
    if pid is None or purpose is None or state is None:
        raise MalformedMessage("a participant needs id, purpose and state")
    return QueueParticipant(pid, purpose, state, disconnect_type=_optional_str(raw, "disconnectType"),
                            user_id=_ref_id(raw, "user"), queue_id=_ref_id(raw, "queue"))


def _ref_id(body: Mapping[str, Any], key: str) -> str | None:
    ref = body.get(key)
    if ref is None:
        return None
    if not isinstance(ref, Mapping):
        raise MalformedMessage(f"{key} must be an object")
    return _optional_str(ref, "id")
