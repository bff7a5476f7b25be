"""Inbound bodies are checked strictly and refused the way Genesys refuses them."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import Api, inbound_body

MESSAGE = "/api/v2/conversations/messages/integration-1/inbound/open/message"
EVENT = "/api/v2/conversations/messages/integration-1/inbound/open/event"
RECEIPT = "/api/v2/conversations/messages/integration-1/inbound/open/receipt"

Body = dict[str, Any]


def _with(change: Callable[[Body], object]) -> Body:
    body = inbound_body(attributes={"queue": "Support"})
    change(body)
    return body


def _attachment(**fields: Any) -> list[Body]:
    attachment = {"mediaType": "Image", "url": "https://x/a.png", "mime": "image/png"}
    attachment.update(fields)
    return [{"contentType": "Attachment", "attachment": attachment}]


# (id, body, code, field)
MESSAGE_CASES: list[tuple[str, Any, str, str]] = [
    ("not-an-object", ["x"], "invalid.value", "body"),
    ("no-channel", _with(lambda b: b.pop("channel")), "bad.request", "channel"),
    ("channel-not-object", _with(lambda b: b.update(channel="x")), "invalid.value", "channel"),
    ("no-from", _with(lambda b: b["channel"].pop("from")), "bad.request", "channel.from"),
    ("no-from-id", _with(lambda b: b["channel"]["from"].pop("id")), "bad.request",
     "channel.from.id"),
    ("empty-from-id", _with(lambda b: b["channel"]["from"].update(id=" ")), "invalid.value",
     "channel.from.id"),
    ("numeric-from-id", _with(lambda b: b["channel"]["from"].update(id=7)), "invalid.value",
     "channel.from.id"),
    ("no-id-type", _with(lambda b: b["channel"]["from"].pop("idType")), "bad.request",
     "channel.from.idType"),
    ("bad-id-type", _with(lambda b: b["channel"]["from"].update(idType="Guid")), "invalid.value",
     "channel.from.idType"),
    ("no-time", _with(lambda b: b["channel"].pop("time")), "bad.request", "channel.time"),
    ("bad-time", _with(lambda b: b["channel"].update(time="yesterday")), "invalid.value",
     "channel.time"),
    ("date-only", _with(lambda b: b["channel"].update(time="2026-01-15")), "invalid.value",
     "channel.time"),
    ("no-zone", _with(lambda b: b["channel"].update(time="2026-01-15T10:00:00")), "invalid.value",
     "channel.time"),
    ("no-text-or-content", _with(lambda b: b.pop("text")), "bad.request", "text"),
    ("empty-text", _with(lambda b: b.update(text="")), "bad.request", "text"),
    ("text-not-string", _with(lambda b: b.update(text=5)), "invalid.value", "text"),
    ("content-not-array", _with(lambda b: b.update(content={})), "invalid.value", "content"),
    ("content-no-attachment", _with(lambda b: b.update(content=[{"contentType": "Attachment"}])),
     "bad.request", "content[0].attachment"),
    ("content-bad-type", _with(lambda b: b.update(content=[{"contentType": "Card"}])),
     "invalid.value", "content[0].contentType"),
    ("attachment-bad-media-type", _with(lambda b: b.update(content=_attachment(mediaType="Gif"))),
     "invalid.value", "content[0].attachment.mediaType"),
    ("attachment-no-media-type", _with(lambda b: b.update(content=_attachment(mediaType=None))),
     "bad.request", "content[0].attachment.mediaType"),
    ("attachment-no-url", _with(lambda b: b.update(content=_attachment(url=None))),
     "bad.request", "content[0].attachment.url"),
    ("attachment-no-mime", _with(lambda b: b.update(content=_attachment(mime=None))),
     "bad.request", "content[0].attachment.mime"),
    ("attachment-empty-mime", _with(lambda b: b.update(content=_attachment(mime=""))),
     "invalid.value", "content[0].attachment.mime"),
    ("attachment-mime-no-subtype", _with(lambda b: b.update(content=_attachment(mime="image"))),
     "invalid.value", "content[0].attachment.mime"),
    ("two-attachments", _with(lambda b: b.update(content=_attachment() + _attachment(url="https://x/b.png"))),
     "invalid.value", "content"),
    ("nested-custom-attribute",
     _with(lambda b: b["channel"]["metadata"]["customAttributes"].update(queue={"name": "S"})),
     "invalid.value", "channel.metadata.customAttributes.queue"),
    ("number-custom-attribute",
     _with(lambda b: b["channel"]["metadata"]["customAttributes"].update(priority=5)),
     "invalid.value", "channel.metadata.customAttributes.priority"),
    ("custom-attributes-array",
     _with(lambda b: b["channel"]["metadata"].update(customAttributes=["a"])),
     "invalid.value", "channel.metadata.customAttributes"),
    ("nested-top-level-metadata", _with(lambda b: b.update(metadata={"a": {"b": "c"}})),
     "invalid.value", "metadata.a"),
    ("unknown-top-level-field", _with(lambda b: b.update(txt="typo")), "bad.request", "txt"),
    ("unknown-channel-field", _with(lambda b: b["channel"].update(messageID="m")), "bad.request",
     "channel.messageID"),
    ("unknown-from-field", _with(lambda b: b["channel"]["from"].update(nickName="J")),
     "bad.request", "channel.from.nickName"),
    ("message-id-not-string", _with(lambda b: b["channel"].update(messageId=12)), "invalid.value",
     "channel.messageId"),
]  # fmt: skip

DEPRECATED_CASES: list[tuple[str, Callable[[Body], object], str]] = [
    ("channel-to", lambda b: b["channel"].update(to={"id": "integration-1"}), "channel.to"),
    ("platform", lambda b: b.update(platform="Open"), "platform"),
    ("direction", lambda b: b.update(direction="Inbound"), "direction"),
    ("type", lambda b: b.update(type="Text"), "type"),
    ("channel-type-private", lambda b: b["channel"].update(type="Private"), "channel.type"),
    ("channel-platform", lambda b: b["channel"].update(platform="Open"), "channel.platform"),
]


def _assert_genesys_400(status: int, body: Any, headers: Any, code: str, field: str) -> None:
    assert status == 400, body
    assert body["status"] == 400
    assert body["code"] == code
    assert body["message"]
    assert body["contextId"] == headers["Genesys-Correlation-Id"]
    assert body["details"] == [{"fieldName": field}]
    assert set(body) >= {"messageWithParams", "messageParams", "errors"}


@pytest.mark.parametrize(("body", "code", "field"), [c[1:] for c in MESSAGE_CASES],
                         ids=[c[0] for c in MESSAGE_CASES])  # fmt: skip
async def test_bad_inbound_message_is_400(api: Api, body: Any, code: str, field: str) -> None:
    status, answer, headers = await api.call("POST", MESSAGE, body)
    _assert_genesys_400(status, answer, headers, code, field)
    assert api.emulator.inbound_messages() == []


@pytest.mark.parametrize(("change", "field"), [c[1:] for c in DEPRECATED_CASES],
                         ids=[c[0] for c in DEPRECATED_CASES])  # fmt: skip
async def test_deprecated_body_shape_is_refused(
    api: Api, change: Callable[[Body], object], field: str
) -> None:
    status, answer, headers = await api.call("POST", MESSAGE, _with(change))
    _assert_genesys_400(status, answer, headers, "bad.request", field)
    assert "deprecated" in answer["message"]


async def test_the_whole_deprecated_body_is_refused(api: Api) -> None:
    old = {
        "id": "m-1",
        "channel": {"platform": "Open", "type": "Private", "messageId": "m-1",
                    "to": {"id": "integration-1"},
                    "from": {"id": "u", "idType": "Opaque"}, "time": "2026-01-15T10:00:00Z"},
        "type": "Text", "text": "hi", "direction": "Inbound",
    }  # fmt: skip
    status, answer, _ = await api.call("POST", MESSAGE, old)
    assert status == 400 and "deprecated" in answer["message"]


async def test_invalid_json_is_400(api: Api) -> None:
    headers = {"Authorization": f"Bearer {await api.token()}", "Content-Type": "application/json"}
    async with api.client.post(MESSAGE, data=b"{not json", headers=headers) as response:
        body = await response.json()
        assert response.status == 400 and body["code"] == "bad.request"


async def test_oversized_body_is_a_genesys_413(api: Api) -> None:
    headers = {"Authorization": f"Bearer {await api.token()}", "Content-Type": "application/json"}
    async with api.client.post(MESSAGE, data=b"x" * (1024 * 1024 + 1), headers=headers) as response:
        body = await response.json()
        assert response.status == 413 and body["status"] == 413
        assert body["contextId"] == response.headers["Genesys-Correlation-Id"]


async def test_unknown_integration_is_404(api: Api) -> None:
    path = MESSAGE.replace("integration-1", "no-such-integration")
    status, answer, _ = await api.call("POST", path, inbound_body())
    assert status == 404 and answer["code"] == "not.found"


@pytest.mark.parametrize(
    "body",
    [
        inbound_body("plain text"),
        _with(lambda b: b.update(content=_attachment(), text="")),
        _with(lambda b: b.update(content=_attachment(filename="a.png"), metadata={"k": "v"})),
        _with(lambda b: b["channel"].update(time="2026-01-15T10:00:00+02:00", messageId="m-9")),
        _with(lambda b: b["channel"]["from"].update(idType="Email", email="j@x.io", lastName="D")),
    ],
    ids=["text", "attachment-only", "attachment-metadata", "offset-time", "email-profile"],
)
async def test_valid_inbound_messages_are_accepted(api: Api, body: Body) -> None:
    status, answer, _ = await api.call("POST", MESSAGE, copy.deepcopy(body))
    assert status == 200, answer
    assert len(answer["id"]) == 32
    [entry] = api.emulator.inbound_messages()
    assert entry.body == body and entry.id == answer["id"]


def _event(**change: Any) -> Body:
    body: Body = {
        "channel": {"from": {"id": "user-1", "idType": "Opaque"}, "time": "2026-01-15T10:00:00Z"},
        "events": [{"eventType": "Typing"}],
    }
    body.update(change)
    return body


EVENT_CASES: list[tuple[str, Any, str, str]] = [
    ("no-events", _event(events=None), "bad.request", "events"),
    ("empty-events", _event(events=[]), "bad.request", "events"),
    ("bad-event-type", _event(events=[{"eventType": "Presence"}]), "invalid.value",
     "events[0].eventType"),
    ("no-from", _event(channel={"time": "2026-01-15T10:00:00Z"}), "bad.request", "channel.from"),
    ("bad-time", _event(channel={"from": {"id": "u", "idType": "Opaque"}, "time": "x"}),
     "invalid.value", "channel.time"),
    ("deprecated", _event(channel={"from": {"id": "u", "idType": "Opaque"}, "to": {"id": "i"},
                                   "time": "2026-01-15T10:00:00Z"}), "bad.request", "channel.to"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "code", "field"), [c[1:] for c in EVENT_CASES],
                         ids=[c[0] for c in EVENT_CASES])  # fmt: skip
async def test_bad_inbound_event_is_400(api: Api, body: Any, code: str, field: str) -> None:
    status, answer, headers = await api.call("POST", EVENT, body)
    _assert_genesys_400(status, answer, headers, code, field)


async def test_typing_event_is_recorded_on_the_open_conversation(api: Api) -> None:
    answer = await api.inbound("hi")
    status, event, _ = await api.call("POST", EVENT, _event())
    assert status == 200 and event["type"] == "Event"
    conversation = api.emulator.conversations.require(answer["conversationId"])
    assert [e["body"]["events"] for e in conversation.events] == [[{"eventType": "Typing"}]]


def _receipt(**change: Any) -> Body:
    body: Body = {
        "id": "d7d58935af65a45e5234ac77de017a0a",
        "channel": {"to": {"id": "user-1", "idType": "Opaque"}, "time": "2026-01-15T10:00:00Z"},
        "status": "Delivered",
        "isFinalReceipt": True,
    }
    body.update(change)
    return body


RECEIPT_CASES: list[tuple[str, Any, str, str]] = [
    ("no-id", _receipt(id=None), "bad.request", "id"),
    ("bad-status", _receipt(status="Seen"), "invalid.value", "status"),
    ("no-status", _receipt(status=None), "bad.request", "status"),
    ("no-to", _receipt(channel={"time": "2026-01-15T10:00:00Z"}), "bad.request", "channel.to"),
    ("final-not-bool", _receipt(isFinalReceipt="yes"), "invalid.value", "isFinalReceipt"),
    ("bad-reason", _receipt(status="Failed", reasons=[{"code": "Oops"}]), "invalid.value",
     "reasons[0].code"),
    ("reasons-not-array", _receipt(reasons={}), "invalid.value", "reasons"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "code", "field"), [c[1:] for c in RECEIPT_CASES],
                         ids=[c[0] for c in RECEIPT_CASES])  # fmt: skip
async def test_bad_inbound_receipt_is_400(api: Api, body: Any, code: str, field: str) -> None:
    body = {k: v for k, v in body.items() if v is not None}
    status, answer, headers = await api.call("POST", RECEIPT, body)
    _assert_genesys_400(status, answer, headers, code, field)


async def test_valid_receipt_is_accepted(api: Api) -> None:
    body = _receipt(status="Failed", reasons=[{"code": "InvalidDestination", "message": "gone"}])
    status, answer, _ = await api.call("POST", RECEIPT, body)
    assert status == 200 and answer["status"] == "Failed"
