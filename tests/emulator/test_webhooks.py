"""Agent messages reach the middleware as signed Genesys webhooks, retried like Genesys does."""

from __future__ import annotations

import json

import pytest

from extension.genesys.signature import HEADER, verify
from extension.testing.emulator import EmulatorError

from .conftest import SECRET, Api, FakeMiddleware


async def _active(api: Api, user: str = "user-1") -> str:
    cid: str = (await api.inbound("I need a person", user=user))["conversationId"]
    await api.emulator.agent.accept(cid, agent="Anna")
    return cid


async def test_agent_reply_is_the_documented_message_signed_over_the_raw_bytes(
    api: Api, middleware: FakeMiddleware
) -> None:
    cid = await _active(api)
    delivery = await api.emulator.agent.reply(cid, "Hi, this is Anna. How can I help?")
    assert delivery.outcome == "delivered"
    [received] = middleware.received
    assert verify(SECRET, received.raw, received.headers[HEADER])
    assert not verify("another-secret-of-some-length", received.raw, received.headers[HEADER])
    # Re-serialised JSON is not what was signed: the middleware must hash the raw bytes.
    assert not verify(SECRET, json.dumps(received.body).encode(), received.headers[HEADER])
    body = received.body
    assert set(body) == {"id", "channel", "type", "text", "originatingEntity", "direction",
                         "conversationId"}  # fmt: skip
    assert len(body["id"]) == 32 and body["id"] == delivery.id
    assert body["type"] == "Text"
    assert body["text"] == "Hi, this is Anna. How can I help?"
    assert body["originatingEntity"] == "Human"
    assert body["direction"] == "Outbound"
    assert body["conversationId"] == cid
    channel = body["channel"]
    assert channel["id"] == "integration-1"
    assert (channel["platform"], channel["type"]) == ("Open", "Private")
    assert channel["messageId"] == body["id"]
    assert channel["to"] == {"id": "user-1", "idType": "Opaque"}
    assert channel["from"] == {"nickname": "BotHandover", "id": "integration-1", "idType": "Opaque"}
    assert channel["time"].endswith("Z") and "T" in channel["time"]
    assert received.headers["Content-Type"].startswith("application/json")


async def test_non_ascii_text_is_utf8_and_still_verifies(
    api: Api, middleware: FakeMiddleware
) -> None:
    cid = await _active(api)
    await api.emulator.agent.reply(cid, "Grüße, Zoë 👋")
    [received] = middleware.received
    assert "Grüße, Zoë 👋".encode() in received.raw
    assert verify(SECRET, received.raw, received.headers[HEADER])
    assert received.body["text"] == "Grüße, Zoë 👋"


async def test_typing_needs_a_connected_agent(api: Api) -> None:
    cid = (await api.inbound("hi"))["conversationId"]
    with pytest.raises(EmulatorError):
        await api.emulator.agent.typing(cid)


async def test_agent_messages_join_the_transcript_after_the_customer_ones(api: Api) -> None:
    cid = await _active(api)
    await api.emulator.agent.reply(cid, "Hello")
    entries = api.emulator.agent.transcript(cid)
    assert [(e.sender, e.name, e.text) for e in entries] == [
        ("customer", "Jane Doe", "I need a person"), ("agent", "Anna", "Hello"),
    ]  # fmt: skip


async def test_attachments_and_quick_replies(api: Api, middleware: FakeMiddleware) -> None:
    cid = await _active(api)
    attachment = {"url": "https://files.example/a.png", "mime": "image/png", "filename": "a.png"}
    await api.emulator.agent.reply(cid, "See this", attachments=[attachment])
    await api.emulator.agent.reply(
        cid, "Did it help?", quick_replies=["Yes", {"text": "No", "payload": "no"}]
    )
    text, structured = (r.body for r in middleware.received)
    assert text["type"] == "Text"
    [content] = text["content"]
    assert content["contentType"] == "Attachment"
    assert content["attachment"]["mediaType"] == "Image"
    assert {k: content["attachment"][k] for k in ("url", "mime", "filename")} == attachment
    assert content["attachment"]["id"]
    assert structured["type"] == "Structured" and structured["text"] == "Did it help?"
    assert [c["quickReply"] for c in structured["content"]] == [
        {"text": "Yes", "payload": "Yes", "action": "Message"},
        {"text": "No", "payload": "no", "action": "Message"},
    ]
    assert {c["contentType"] for c in structured["content"]} == {"QuickReply"}


async def test_an_agent_attachment_always_names_its_mime(api: Api, middleware: FakeMiddleware) -> None:
    cid = await _active(api)
    await api.emulator.agent.reply(cid, "Files", attachments=[{"url": "https://files.example/r.pdf?v=2"}])
    await api.emulator.agent.reply(cid, "More", attachments=[{"url": "https://files.example/blob"}])
    sent = [r.body["content"][0]["attachment"] for r in middleware.received]
    assert [(a["mime"], a["mediaType"]) for a in sent] == [
        ("application/pdf", "File"), ("application/octet-stream", "File"),
    ]  # fmt: skip


async def test_typing_is_an_event_message(api: Api, middleware: FakeMiddleware) -> None:
    cid = await _active(api)
    await api.emulator.agent.typing(cid)
    [received] = middleware.received
    body = received.body
    assert verify(SECRET, received.raw, received.headers[HEADER])
    assert body["type"] == "Event"
    assert body["events"] == [{"eventType": "Typing", "typing": {"type": "On", "duration": 5000}}]
    assert "text" not in body
    assert api.emulator.agent.transcript(cid)[-1].sender == "customer"  # typing is not a message


async def test_flow_message_comes_from_the_bot(api: Api, middleware: FakeMiddleware) -> None:
    cid = (await api.inbound("hi"))["conversationId"]
    await api.emulator.agent.flow_message(cid, "Connected")
    [received] = middleware.received
    assert received.body["originatingEntity"] == "Bot"
    assert received.body["text"] == "Connected"
    assert api.emulator.agent.transcript(cid)[-1].sender == "bot"


async def test_messages_are_delivered_in_order(api: Api, middleware: FakeMiddleware) -> None:
    cid = await _active(api)
    for n in range(5):
        await api.emulator.agent.reply(cid, f"part {n}", wait=False)
    await api.emulator.settle()
    assert [r.body["text"] for r in middleware.received] == [f"part {n}" for n in range(5)]


@pytest.mark.parametrize("failure", [500, 503, 429, "hang"])
async def test_redelivery_after_a_failure_keeps_the_id(
    api: Api, middleware: FakeMiddleware, failure: int | str
) -> None:
    cid = await _active(api)
    middleware.plan = [failure, failure]
    delivery = await api.emulator.agent.reply(cid, "Hello")
    assert delivery.outcome == "delivered"
    assert len(delivery.attempts) == 3
    assert len({r.raw for r in middleware.received}) == 1  # same bytes, hence same id
    assert [r.body["id"] for r in middleware.received] == [delivery.id] * 3
    expected = None if failure == "hang" else failure
    assert [a.status for a in delivery.attempts] == [expected, expected, 200]
    if failure == "hang":
        assert [a.error for a in delivery.attempts[:2]] == ["timeout", "timeout"]


async def test_redelivery_stops_after_five_retries(api: Api, middleware: FakeMiddleware) -> None:
    cid = await _active(api)
    middleware.plan = [500] * 10
    delivery = await api.emulator.agent.reply(cid, "Hello")
    assert delivery.outcome == "failed"
    assert len(delivery.attempts) == 6 and len(middleware.received) == 6


async def test_a_4xx_answer_is_not_retried(api: Api, middleware: FakeMiddleware) -> None:
    cid = await _active(api)
    middleware.plan = [401]
    delivery = await api.emulator.agent.reply(cid, "Hello")
    assert delivery.outcome == "failed" and len(middleware.received) == 1


async def test_unreachable_webhook_is_retried_then_given_up(api: Api) -> None:
    cid = await _active(api)
    api.emulator.update_integration("integration-1", webhook_url="http://127.0.0.1:9/nothing")
    api.emulator.config.webhook_retries = 2
    delivery = await api.emulator.agent.reply(cid, "Hello")
    assert delivery.outcome == "failed"
    assert len(delivery.attempts) == 3 and all(a.error for a in delivery.attempts)


async def test_the_secret_in_force_signs(api: Api, middleware: FakeMiddleware) -> None:
    cid = await _active(api)
    api.emulator.update_integration("integration-1", webhook_secret="rotated-secret-0123456789")
    await api.emulator.agent.reply(cid, "Hello")
    [received] = middleware.received
    assert verify("rotated-secret-0123456789", received.raw, received.headers[HEADER])
    assert not verify(SECRET, received.raw, received.headers[HEADER])


async def test_forced_redelivery_sends_the_same_message_again(
    api: Api, middleware: FakeMiddleware
) -> None:
    cid = await _active(api)
    first = await api.emulator.agent.reply(cid, "one")
    await api.emulator.agent.reply(cid, "two")
    copy = api.emulator.faults.redeliver_webhook(first.id)
    assert await copy.wait() == "delivered"
    assert [r.body["text"] for r in middleware.received] == ["one", "two", "one"]
    assert middleware.received[2].raw == middleware.received[0].raw
    assert copy.redelivery and copy.id == first.id
    again = api.emulator.faults.redeliver_webhook()  # the last one
    await again.wait()
    assert middleware.received[-1].body["text"] == "two"


async def test_duplicate_webhooks_fault(api: Api, middleware: FakeMiddleware) -> None:
    cid = await _active(api)
    api.emulator.faults.duplicate_webhooks(1)
    await api.emulator.agent.reply(cid, "twice")
    await api.emulator.agent.reply(cid, "once")
    await api.emulator.settle()
    assert [r.body["text"] for r in middleware.received] == ["twice", "twice", "once"]
    assert middleware.received[0].raw == middleware.received[1].raw


async def test_nothing_to_redeliver_is_an_error(api: Api) -> None:
    with pytest.raises(EmulatorError):
        api.emulator.faults.redeliver_webhook()


async def test_inbound_receipts_when_enabled(api: Api, middleware: FakeMiddleware) -> None:
    api.emulator.config.inbound_receipts = True
    answer = await api.inbound("hi")
    received = await middleware.next()
    assert verify(SECRET, received.raw, received.headers[HEADER])
    body = received.body
    assert (body["type"], body["status"], body["id"]) == ("Receipt", "Delivered", answer["id"])
    assert body["isFinalReceipt"] is True


async def test_records_of_sent_webhooks(api: Api, middleware: FakeMiddleware) -> None:
    cid = await _active(api)
    other = await _active(api, user="user-2")
    await api.emulator.agent.reply(cid, "a")
    await api.emulator.agent.typing(other)
    assert [d.type for d in api.emulator.sent_webhooks(cid)] == ["Text"]
    assert [d.conversation_id for d in api.emulator.sent_webhooks(type="Event")] == [other]
    [text] = api.emulator.sent_webhooks(cid)
    assert text.raw == middleware.received[0].raw and text.url == middleware.url
