"""What the emulator emits deserialises cleanly into the official Genesys SDK's models."""

from __future__ import annotations

import pytest
from PureCloudPlatformClientV2 import MessageMediaParticipant

from .conftest import Api, FakeMiddleware, next_frame
from .sdk import deserialize, sdk_enum


async def _active(api: Api) -> str:
    cid: str = (await api.inbound("hi"))["conversationId"]
    await api.emulator.agent.accept(cid, agent="Anna")
    return cid


async def test_text_message(api: Api, middleware: FakeMiddleware) -> None:
    cid = await _active(api)
    attachment = {"url": "https://f.example/a.pdf", "mime": "application/pdf", "filename": "a.pdf"}
    await api.emulator.agent.reply(cid, "Here", attachments=[attachment])
    body = middleware.received[0].body
    model = deserialize(body, "OpenMessageNormalizedMessage")
    assert (model["id"], model["type"], model["text"]) == (body["id"], "Text", "Here")
    assert model["conversation_id"] == cid
    channel = model["channel"]
    assert (channel["id"], channel["platform"], channel["type"]) == ("integration-1", "Open",
                                                                      "Private")  # fmt: skip
    assert channel["message_id"] == body["id"]
    assert (channel["to"]["id"], channel["to"]["id_type"]) == ("user-1", "Opaque")
    assert channel["pcFrom"]["nickname"] == "BotHandover"
    assert channel["time"] is not None
    [content] = model["content"]
    assert content["content_type"] == "Attachment"
    assert content["attachment"]["media_type"] == "File"
    assert content["attachment"]["url"] == attachment["url"]
    assert content["attachment"]["filename"] == "a.pdf"
    full = deserialize(body, "ConversationNormalizedMessage")
    assert (full["originating_entity"], full["direction"]) == ("Human", "Outbound")


async def test_structured_message(api: Api, middleware: FakeMiddleware) -> None:
    cid = await _active(api)
    await api.emulator.agent.reply(cid, "Pick one", quick_replies=["Yes", "No"])
    model = deserialize(middleware.received[0].body, "ConversationNormalizedMessage")
    assert model["type"] == "Structured"
    assert [c["content_type"] for c in model["content"]] == ["QuickReply", "QuickReply"]
    assert [c["quick_reply"]["payload"] for c in model["content"]] == ["Yes", "No"]
    assert model["content"][0]["quick_reply"]["action"] == "Message"


async def test_flow_message(api: Api, middleware: FakeMiddleware) -> None:
    cid = (await api.inbound("hi"))["conversationId"]
    await api.emulator.agent.flow_message(cid, "Connected")
    model = deserialize(middleware.received[0].body, "ConversationNormalizedMessage")
    assert model["originating_entity"] == "Bot"


async def test_typing_event(api: Api, middleware: FakeMiddleware) -> None:
    cid = await _active(api)
    await api.emulator.agent.typing(cid)
    model = deserialize(middleware.received[0].body, "OpenEventNormalizedMessage")
    assert model["type"] == "Event"
    [event] = model["events"]
    assert event["event_type"] == "Typing"
    assert event["typing"] == {"type": "On", "duration": 5000}
    assert model["channel"]["to"]["id"] == "user-1"


async def test_receipt(api: Api, middleware: FakeMiddleware) -> None:
    api.emulator.config.inbound_receipts = True
    answer = await api.inbound("hi")
    body = (await middleware.next()).body
    model = deserialize(body, "OpenReceiptNormalizedMessage")
    assert (model["id"], model["type"], model["status"]) == (answer["id"], "Receipt", "Delivered")
    assert model["is_final_receipt"] is True and model["direction"] == "Inbound"


@pytest.mark.parametrize(
    ("event", "model", "fields"),
    [
        ("user.start", "UserStartDetailEventTopicUserStartEvent", ("user_id", "queue_id")),
        ("user.end", "UserEndDetailEventTopicUserEndEvent", ("user_id", "disconnect_type")),
        ("acw", "AcwDetailEventTopicAfterCallWorkEvent", ("user_id", "queue_id")),
        ("customer.end", "CustomerEndDetailEventTopicCustomerEndEvent", ("disconnect_type",)),
    ],
)
async def test_notification_events(
    api: Api, event: str, model: str, fields: tuple[str, ...]
) -> None:
    cid = (await api.inbound("hi"))["conversationId"]
    _, socket = await api.channel(f"v2.detail.events.conversation.{cid}.{event}")
    if event == "customer.end":
        await api.emulator.agent.customer_end(cid)
    else:
        await api.emulator.agent.accept(cid)
        await api.emulator.agent.end(cid)
    frame = await next_frame(socket)
    parsed = deserialize(frame["eventBody"], model)
    assert parsed["conversation_id"] == cid
    assert (parsed["media_type"], parsed["message_type"]) == ("MESSAGE", "OPEN")
    assert isinstance(parsed["event_time"], int) and parsed["participant_id"]
    for field in fields:
        assert parsed[field], field


async def test_conversation_and_discovery_answers(api: Api) -> None:
    cid = await _active(api)
    await api.emulator.agent.end(cid)
    _, body, _ = await api.call("GET", f"/api/v2/conversations/messages/{cid}")
    conversation = deserialize(body, "MessageConversation")
    assert {p["purpose"] for p in conversation["participants"]} == {"customer", "acd", "agent"}
    assert {p["state"] for p in conversation["participants"]} == {"disconnected"}
    assert {p["disconnect_type"] for p in conversation["participants"]} == {
        "client", "peer", "transfer",
    }  # fmt: skip
    _, body, _ = await api.call("GET", "/api/v2/conversations/messaging/integrations/open")
    listing = deserialize(body, "OpenIntegrationEntityListing")
    assert listing["entities"][0]["create_status"] == "Completed"
    assert listing["entities"][0]["outbound_notification_webhook_url"]
    _, body, _ = await api.call("GET", "/api/v2/routing/queues?name=Support")
    assert deserialize(body, "QueueEntityListing")["entities"][0]["name"] == "Support"
    _, body, _ = await api.call("GET", "/api/v2/routing/message/recipients/integration-1")
    assert deserialize(body, "Recipient")["flow"]["id"]
    _, body, _ = await api.call("POST", "/api/v2/notifications/channels")
    channel = deserialize(body, "Channel")
    assert channel["connect_uri"].startswith("ws://") and channel["expires"] is not None
    _, body, _ = await api.call("GET", "/api/v2/routing/queues?pageSize=0")
    assert deserialize(body, "ErrorBody")["code"] == "invalid.value"


async def test_participants_spell_every_enum_as_the_sdk_does(api: Api) -> None:
    # The SDK compares enums case-insensitively, so a round trip alone would let "Open" pass.
    cid = await _active(api)
    _, body, _ = await api.call("GET", f"/api/v2/conversations/messages/{cid}")
    participants = body["participants"]
    assert {p["type"] for p in participants} == {"open"}
    for field in ("type", "state", "direction"):
        allowed = sdk_enum(MessageMediaParticipant, field)
        assert {p[field] for p in participants} <= set(allowed), field
    await api.emulator.agent.end(cid)
    _, body, _ = await api.call("GET", f"/api/v2/conversations/messages/{cid}")
    allowed = sdk_enum(MessageMediaParticipant, "disconnect_type")
    assert {p["disconnectType"] for p in body["participants"]} <= set(allowed)
    # The purposes the SDK documents in its docstring: 'agent', 'user', 'customer', 'external', 'acd', 'ivr'.
    assert {p["purpose"] for p in body["participants"]} <= {"agent", "user", "customer", "external", "acd", "ivr"}
