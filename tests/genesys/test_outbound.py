"""Parsing the outbound webhook bodies of docs/GENESYS_NOTES.md section 5."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from extension.genesys.errors import MalformedMessage
from extension.genesys.messages import (
    OutboundAttachment,
    OutboundMessage,
    QuickReply,
    parse_outbound,
)

AGENT_TEXT: dict[str, Any] = {
    "id": "d7d58935af65a45e5234ac77de017a0a",
    "channel": {"id": "int-1", "platform": "Open", "type": "Private",
                "messageId": "d7d58935af65a45e5234ac77de017a0a",
                "to": {"id": "h-7f3a", "idType": "Opaque"},
                "from": {"nickname": "Support Bot", "id": "int-1", "idType": "Opaque"},
                "time": "2026-01-15T10:01:05.427Z"},
    "type": "Text", "text": "Hi, this is Anna. How can I help?",
    "originatingEntity": "Human", "direction": "Outbound",
    "conversationId": "5d0d331e-d2a8-4fb5-96f7-7021bef2a8ee",
}


def with_(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(AGENT_TEXT)
    body.update(changes)
    return body


def test_agent_text() -> None:
    assert parse_outbound(AGENT_TEXT) == OutboundMessage(
        id="d7d58935af65a45e5234ac77de017a0a", type="Text", raw_type="Text",
        integration_id="int-1", to_id="h-7f3a", from_id="int-1", from_nickname="Support Bot",
        conversation_id="5d0d331e-d2a8-4fb5-96f7-7021bef2a8ee", originating_entity="Human",
        direction="Outbound", time="2026-01-15T10:01:05.427Z",
        text="Hi, this is Anna. How can I help?",
    )


def test_field_names_are_read_ignoring_case() -> None:
    body = with_(originatingentity="Bot", ConversationId="c-2")
    del body["originatingEntity"], body["conversationId"]
    body["channel"]["from"] = {"nickName": "Support Bot", "ID": "int-1"}
    message = parse_outbound(body)
    assert (message.from_nickname, message.from_id) == ("Support Bot", "int-1")
    assert (message.originating_entity, message.conversation_id) == ("Bot", "c-2")


def test_the_integration_id_falls_back_to_the_sender() -> None:
    body = with_()
    del body["channel"]["id"]
    assert parse_outbound(body).integration_id == "int-1"


def test_attachments_are_read_from_content() -> None:
    body = with_(content=[
        {"contentType": "Attachment", "attachment": {
            "id": "att-1", "mediaType": "Image", "url": "https://api-downloads.example/att-1",
            "mime": "image/png", "filename": "map.png", "contentSizeBytes": 2048}},
        {"contentType": "Attachment", "attachment": {"mediaType": "File"}},  # No URL: skipped.
        {"contentType": "Reactions", "reactions": [{"reactionType": "Like"}]},
    ])
    assert parse_outbound(body).attachments == (OutboundAttachment(
        url="https://api-downloads.example/att-1", media_type="Image", mime="image/png",
        filename="map.png", id="att-1", size_bytes=2048),)


def test_quick_replies_are_read_from_structured_content() -> None:
    body = with_(type="Structured", text="Pick one", content=[
        {"contentType": "QuickReply", "quickReply": {"text": "Yes", "payload": "yes",
                                                     "action": "Message"}},
        {"contentType": "QuickReply", "quickReply": {"text": "No"}},
        {"contentType": "QuickReplyV2", "quickReplyV2": {"title": "More", "actions": [
            {"text": "Maybe", "payload": "maybe"}]}},
        {"contentType": "Card", "card": {"title": "ignored here"}},
    ])
    message = parse_outbound(body)
    assert message.type == "Structured"
    assert message.text == "Pick one"
    assert message.quick_replies == (QuickReply("Yes", "yes"), QuickReply("No", "No"),
                                     QuickReply("Maybe", "maybe"))


def test_typing_event() -> None:
    body = with_(type="Event", events=[{"eventType": "Typing",
                                        "typing": {"type": "On", "duration": 5000}}])
    del body["text"]
    message = parse_outbound(body)
    assert (message.type, message.typing, message.typing_duration_ms) == ("Event", True, 5000)


def test_an_event_that_is_not_typing_is_not_typing() -> None:
    body = with_(type="Event", events=[{"eventType": "Presence", "presence": {"type": "Join"}}])
    assert parse_outbound(body).typing is False


def test_receipt() -> None:
    body = with_(type="Receipt", status="Failed", isFinalReceipt=True, direction="Inbound",
                 reasons=[{"code": "RateLimited", "message": "slow down"}])
    message = parse_outbound(body)
    assert (message.type, message.receipt_status, message.is_final_receipt) == (
        "Receipt", "Failed", True)
    assert message.receipt_reasons == (("RateLimited", "slow down"),)


def test_the_type_is_matched_ignoring_case() -> None:
    assert parse_outbound(with_(type="text")).type == "Text"


@pytest.mark.parametrize("kind", ["Presence", "", None])
def test_unknown_types_and_fields_are_kept_quiet(kind: str | None) -> None:
    body = with_(type=kind, somethingNew={"deep": [1, 2]}, extra=5)
    message = parse_outbound(body)
    assert message.type == "Unknown"
    assert message.raw_type == kind


def test_a_minimal_message_parses() -> None:
    assert parse_outbound({"id": "x"}) == OutboundMessage(id="x", type="Unknown")


@pytest.mark.parametrize(
    "body",
    [
        [],
        "text",
        None,
        {},
        {"id": 5},
        {"id": ""},
        with_(type=5),
        with_(text=["a"]),
        with_(channel="int-1"),
        with_(channel={"from": "int-1"}),
        with_(channel={"to": {"id": 7}}),
        with_(channel={"time": 1700000000}),
        with_(conversationId={"id": "c"}),
        with_(content={"contentType": "Attachment"}),
        with_(content=["Attachment"]),
        with_(content=[{"contentType": 3}]),
        with_(content=[{"contentType": "Attachment", "attachment": "https://x"}]),
        with_(content=[{"contentType": "Attachment", "attachment": {"url": 1}}]),
        with_(content=[{"contentType": "Attachment",
                        "attachment": {"url": "https://x", "contentSizeBytes": "2k"}}]),
        with_(content=[{"contentType": "QuickReplyV2", "quickReplyV2": {"actions": {}}}]),
        with_(type="Event", events=[{"eventType": "Typing", "typing": {"duration": "5s"}}]),
        with_(type="Event", events="Typing"),
        with_(type="Receipt", status=1),
        with_(isFinalReceipt="yes"),
        with_(reasons=[{"code": 1}]),
        with_(reasons=["GeneralError"]),
    ],
)
def test_wrong_shapes_raise_one_error_type(body: Any) -> None:
    with pytest.raises(MalformedMessage):
        parse_outbound(body)


def test_malformed_message_is_a_value_error() -> None:
    assert issubclass(MalformedMessage, ValueError)


def test_any_json_value_in_any_field_raises_nothing_but_malformed() -> None:
    # Put every kind of JSON value in every field we read: only MalformedMessage may escape.
    values: list[Any] = [None, True, 0, 1.5, "s", [], [1], {}, {"x": 1}, [{}], [{"url": 1}]]
    fields = ["id", "type", "text", "channel", "content", "events", "status", "reasons",
              "isFinalReceipt", "conversationId", "originatingEntity", "direction"]
    bodies = [with_(**{field: value}) for field in fields for value in values]
    for field in ("id", "from", "to", "time"):
        for value in values:
            body = with_()
            body["channel"][field] = value
            bodies.append(body)
    outcomes = set()
    for body in bodies:
        try:
            parse_outbound(json.loads(json.dumps(body)))
            outcomes.add("parsed")
        except MalformedMessage:
            outcomes.add("malformed")
    assert outcomes == {"parsed", "malformed"}
