"""Conversation topic names and the end-of-conversation events they carry."""

from __future__ import annotations

from typing import Any

import pytest

from extension.genesys.errors import MalformedMessage
from extension.genesys.notifications_topics import (
    ConversationEvent,
    conversation_topic,
    conversation_topics,
    is_heartbeat,
    is_socket_closing,
    is_transfer,
    parse_event_frame,
    parse_http_end_event,
    parse_topic,
)

CID = "5d0d331e-d2a8-4fb5-96f7-7021bef2a8ee"
BODY = {"conversationId": CID, "participantId": "p-9", "disconnectType": "CLIENT",
        "mediaType": "MESSAGE", "messageType": "OPEN", "queueId": "q-1", "userId": "u-1",
        "eventTime": 1768471265427}


def test_topic_names() -> None:
    assert conversation_topic(CID, "user.end") == f"v2.detail.events.conversation.{CID}.user.end"
    assert conversation_topics(CID) == [
        f"v2.detail.events.conversation.{CID}.customer.end",
        f"v2.detail.events.conversation.{CID}.user.start",
        f"v2.detail.events.conversation.{CID}.user.end",
    ]
    assert conversation_topics(CID, ["acw"]) == [f"v2.detail.events.conversation.{CID}.acw"]


@pytest.mark.parametrize(("cid", "kind"), [(CID, "user.left"), ("", "acw"), ("a.b", "acw"),
                                           ("a b", "acw")])
def test_bad_topic_parts_are_refused(cid: str, kind: str) -> None:
    with pytest.raises(ValueError):
        conversation_topic(cid, kind)


@pytest.mark.parametrize("kind", ["customer.end", "user.start", "user.end", "acw"])
def test_parse_topic_round_trips(kind: str) -> None:
    assert parse_topic(conversation_topic(CID, kind)) == (CID, kind)


@pytest.mark.parametrize("topic", ["channel.metadata", "v2.system.socket_closing",
                                   f"v2.detail.events.conversation.{CID}.user.left",
                                   f"v2.users.{CID}.presence"])
def test_other_topics_are_not_conversation_topics(topic: str) -> None:
    assert parse_topic(topic) is None


@pytest.mark.parametrize(
    ("value", "transfer"),
    [("TRANSFER", True), ("CONSULT_TRANSFER", True), ("FORWARD_TRANSFER", True),
     ("CONFERENCE_TRANSFER", True), ("NO_ANSWER_TRANSFER", True),
     ("NOT_AVAILABLE_TRANSFER", True), ("DND_TRANSFER", True), ("transfer", True),
     ("CLIENT", False), ("ENDPOINT", False), ("SYSTEM", False), ("TIMEOUT", False),
     ("INACTIVITY", False), ("ERROR", False), (None, False), ("", False)],
)
def test_is_transfer(value: str | None, transfer: bool) -> None:
    assert is_transfer(value) is transfer


def test_a_websocket_frame() -> None:
    frame = {"topicName": conversation_topic(CID, "user.end"),
             "eventBody": {**BODY, "disconnectType": "CONSULT_TRANSFER"}}
    event = parse_event_frame(frame)
    assert event == ConversationEvent(
        conversation_id=CID, kind="user.end", disconnect_type="CONSULT_TRANSFER",
        participant_id="p-9", user_id="u-1", queue_id="q-1", event_time=1768471265427,
        topic=frame["topicName"])
    assert event.is_transfer


def test_an_eventbridge_envelope() -> None:
    event = parse_event_frame({"detail-type": "x", "detail": {
        "topicName": conversation_topic(CID, "customer.end"), "eventBody": BODY}})
    assert event is not None
    assert (event.conversation_id, event.kind, event.is_transfer) == (CID, "customer.end", False)


def test_heartbeats_and_closing_frames() -> None:
    heartbeat = {"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}
    closing = {"topicName": "v2.system.socket_closing", "eventBody": {}}
    assert is_heartbeat(heartbeat) and not is_socket_closing(heartbeat)
    assert is_socket_closing(closing) and not is_heartbeat(closing)
    assert parse_event_frame(heartbeat) is None
    assert parse_event_frame(closing) is None


@pytest.mark.parametrize(
    "frame",
    [[], "x", {}, {"topicName": 5},
     {"topicName": conversation_topic(CID, "acw"), "eventBody": "gone"},
     {"topicName": conversation_topic(CID, "acw"), "eventBody": {"disconnectType": 3}},
     {"topicName": conversation_topic(CID, "acw"), "eventBody": {"eventTime": {"t": 1}}}],
)
def test_malformed_frames(frame: Any) -> None:
    with pytest.raises(MalformedMessage):
        parse_event_frame(frame)


def test_a_workflow_event_with_a_full_topic() -> None:
    event = parse_http_end_event({"conversationId": CID, "disconnectType": "CLIENT",
                                  "topic": conversation_topic(CID, "user.end")})
    assert event is not None
    assert (event.conversation_id, event.kind, event.disconnect_type) == (CID, "user.end",
                                                                          "CLIENT")


def test_a_workflow_event_with_only_the_kind() -> None:
    event = parse_http_end_event({"conversationId": CID, "topic": "acw"})
    assert event is not None and (event.conversation_id, event.kind) == (CID, "acw")


def test_a_workflow_event_in_an_eventbridge_envelope() -> None:
    event = parse_http_end_event({"detail": {"topicName": conversation_topic(CID, "user.end"),
                                             "eventBody": BODY}})
    assert event is not None and event.kind == "user.end"


def test_a_workflow_event_about_something_else_is_ignored() -> None:
    assert parse_http_end_event({"conversationId": CID, "topic": "user.left"}) is None


@pytest.mark.parametrize("body", [[], {"conversationId": CID}, {"topic": "acw"},
                                  {"topic": 3, "conversationId": CID},
                                  {"topic": "acw", "conversationId": 7}])
def test_malformed_workflow_events(body: Any) -> None:
    with pytest.raises(MalformedMessage):
        parse_http_end_event(body)
