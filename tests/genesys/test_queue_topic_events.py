"""Queue conversation topics: the topic name, and reading its events (the SDK's queue conversation model)."""

from __future__ import annotations

from typing import Any

import pytest

from extension.genesys.errors import MalformedMessage
from extension.genesys.notifications_topics import (
    QueueParticipant,
    detail_disconnect_type,
    is_transfer,
    parse_queue_frame,
    parse_queue_topic,
    queue_topic,
)

QUEUE = "1c9d3b5a-2e4f-4a6b-8d0c-7e1f2a3b4c33"
TOPIC = f"v2.routing.queues.{QUEUE}.conversations.messages"


def frame(*participants: dict[str, Any]) -> dict[str, Any]:
    return {"topicName": TOPIC, "eventBody": {"id": "c-1", "participants": list(participants)}}


def test_topic_name_round_trip() -> None:
    assert queue_topic(QUEUE) == TOPIC
    assert parse_queue_topic(TOPIC) == QUEUE
    assert parse_queue_topic("v2.detail.events.conversation.c-1.user.end") is None
    assert parse_queue_topic(f"v2.routing.queues.{QUEUE}.conversations.calls") is None
    for bad in ("", "a.b", "a b"):
        with pytest.raises(ValueError, match="not a queue id"):
            queue_topic(bad)


def test_participants_and_their_queues_are_read() -> None:
    change = parse_queue_frame(frame(
        {"id": "p1", "purpose": "customer", "state": "connected", "name": "Jane"},
        {"id": "p2", "purpose": "acd", "state": "disconnected", "disconnectType": "transfer",
         "queue": {"id": QUEUE, "name": "Support"}},
        {"id": "p3", "purpose": "agent", "state": "disconnected", "disconnectType": "transfer",
         "user": {"id": "u-1"}, "queue": {"id": QUEUE}},
        {"id": "p4", "purpose": "acd", "state": "connected", "queue": {"id": "q-billing"}}))
    assert change is not None
    assert change.conversation_id == "c-1" and change.topic_queue_id == QUEUE and change.topic == TOPIC
    assert change.participants[2] == QueueParticipant("p3", "agent", "disconnected", "transfer", "u-1", QUEUE)
    assert change.participants[2].gone and not change.participants[0].gone
    assert change.queues() == {"q-billing"}  # the queue it was transferred to; Support's participant left


def test_other_topics_are_not_queue_events() -> None:
    assert parse_queue_frame({"topicName": "channel.metadata", "eventBody": {}}) is None


@pytest.mark.parametrize(("body", "message"), [
    ({"topicName": TOPIC, "eventBody": []}, "eventBody must be an object"),
    ({"topicName": TOPIC, "eventBody": {"participants": []}}, "has no id"),
    (frame({"id": "p1", "purpose": "agent"}), "needs id, purpose and state"),
    (frame("p1"), "must be an object"),
    ({"topicName": TOPIC, "eventBody": {"id": "c", "participants": {}}}, "participants must be a list"),
    (frame({"id": "p1", "purpose": "agent", "state": "connected", "user": "u-1"}), "user must be an object"),
    (frame({"id": "p1", "purpose": "agent", "state": 3}), "state must be a string"),
    ({"eventBody": {}}, "no topicName"),
])
def test_malformed_events_are_refused_clearly(body: Any, message: str) -> None:
    with pytest.raises(MalformedMessage, match=message):
        parse_queue_frame(body)


@pytest.mark.parametrize(("participant", "detail"), [
    ("client", "CLIENT"), ("transfer", "TRANSFER"), ("transfer.noanswer", "NO_ANSWER_TRANSFER"),
    ("transfer.consult", "CONSULT_TRANSFER"), ("transfer.forward", "FORWARD_TRANSFER"),
    ("transfer.notavailable", "NOT_AVAILABLE_TRANSFER"), ("transfer.dnd", "DND_TRANSFER"),
    ("transfer.conference", "CONFERENCE_TRANSFER"), ("session.expired", "SESSION_EXPIRED"), ("peer", "PEER"),
    (None, None),
])
def test_participant_disconnect_types_read_as_the_detail_events_spell_them(
        participant: str | None, detail: str | None) -> None:
    assert detail_disconnect_type(participant) == detail
    assert is_transfer(detail) == (participant or "").startswith("transfer")


def test_every_transfer_of_the_sdk_enum_is_a_transfer() -> None:
    sdk = pytest.importorskip("PureCloudPlatformClientV2")
    from emulator.sdk import sdk_enum

    model = sdk.QueueConversationMessageEventTopicMessageMediaParticipant
    for value in sdk_enum(model, "disconnect_type"):
        assert is_transfer(detail_disconnect_type(value)) == value.startswith("transfer"), value
    assert {"alerting", "connected", "disconnected", "terminated"} <= set(sdk_enum(model, "state"))
