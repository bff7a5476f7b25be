"""Every agent content type reaches the user as data plus a text fallback; a choice goes back structured."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from emulator.sdk import deserialize

from handover.helpers import lines

from stack import Stack, StackFactory, start_handover
from support import eventually

CARD = {"contentType": "Card", "card": {
    "title": "Premium plan", "description": "All features", "image": "https://example.com/p.png",
    "actions": [{"type": "Postback", "text": "Choose", "payload": "plan-premium"},
                {"type": "Link", "text": "Details", "url": "https://example.com/premium"},
                {"type": "Link", "text": "Trap", "url": "javascript:alert(1)"}]}}
CAROUSEL = {"contentType": "Carousel", "carousel": {"cards": [
    {"title": "Basic", "actions": [{"type": "Postback", "text": "Basic", "payload": "basic"}]},
    {"title": "Premium", "actions": [{"type": "Postback", "text": "Premium", "payload": "premium"}]}]}}
LIST_PICKER = {"contentType": "ListPicker", "listPicker": {"id": "lp-1", "sections": [
    {"title": "Stores", "multipleSelection": False, "items": [
        {"id": "s-1", "title": "Berlin", "subtitle": "Mitte"}, {"id": "s-2", "title": "Munich"}]}]}}
DATE_PICKER = {"contentType": "DatePicker", "datePicker": {
    "id": "dp-1", "title": "Pick a slot", "dateMinimum": "2026-12-04T00:00:00.000Z",
    "dateMaximum": "2026-12-20T00:00:00.000Z",
    "availableTimes": [{"dateTime": "2026-12-05T10:00:00.000Z", "duration": 1800}]}}
NOTIFICATION = {"contentType": "Notification", "template": {
    "id": "tpl-1", "language": "en", "body": {"text": "Your order {{1}} ships on {{2}}.", "parameters": [
        {"name": "1", "text": "A-17"}, {"name": "2", "text": "Monday"}]}}}


async def _agent_sends(stack: Stack, cid: str, *content: dict[str, Any], text: str | None = None) -> dict[str, Any]:
    before = len(await stack.events())
    delivery = await stack.emu.agent.reply(cid, text, rich=content)
    events = await eventually(lambda: _new_outputs(stack, before), "the agent's message")
    assert delivery.outcome is not None
    event: dict[str, Any] = events[-1]
    return event


async def _new_outputs(stack: Stack, before: int) -> list[dict[str, Any]]:
    return [e for e in (await stack.events())[before:] if e["type"] == "output"]


@pytest.mark.parametrize(("content", "key", "fallback"), [
    (CARD, "cards", "Premium plan: All features\nOptions: Choose, Details"),
    (CAROUSEL, "carousel", "Basic\nOptions: Basic\nPremium\nOptions: Premium"),
    (LIST_PICKER, "listPicker", "Choose: Berlin, Munich"),
    (DATE_PICKER, "datePicker", "Pick a slot"),
    (NOTIFICATION, "notification", "Your order A-17 ships on Monday."),
])
async def test_each_content_type_reaches_the_user_with_a_text_fallback(
        make_stack: StackFactory, content: dict[str, Any], key: str, fallback: str) -> None:
    deserialize(content, "ConversationMessageContent")  # what the emulator sends is what Genesys models
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    event = await _agent_sends(stack, cid, content)
    assert event["source"] == "agent" and event["text"] == fallback
    assert key in event["data"]
    if key == "cards":
        [card] = event["data"]["cards"]
        # A link that is not http(s) never reaches the page.
        assert [a["text"] for a in card["actions"]] == ["Choose", "Details"]
        assert card["image"] == "https://example.com/p.png"
    if key == "notification":
        assert event["data"]["notification"]["body"] == {"text": "Your order A-17 ships on Monday."}
    assert await _receipt_status(stack, event["id"]) == "Delivered"


async def _receipt_status(stack: Stack, message_id: str) -> str | None:
    async def status() -> str | None:
        for r in stack.emu.requests:
            if r.path.endswith("/inbound/open/receipt") and isinstance(r.json, dict) and r.json.get("id") == message_id:
                return str(r.json.get("status"))
        return None
    return await eventually(status, f"the receipt of {message_id}")  # type: ignore[no-any-return]


async def test_an_unknown_content_type_is_said_not_dropped_and_receipted_failed(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    event = await _agent_sends(stack, cid, {"contentType": "PaymentRequest", "paymentRequest": {"amount": 3}})
    assert event["source"] == "system" and event["text"] == "The agent sent a message that this chat cannot show."
    assert await _receipt_status(stack, event["id"]) == "Failed"
    # With text, the text is what the user gets, and it is delivered.
    event = await _agent_sends(stack, cid, {"contentType": "Story", "story": {"type": "Mention"}}, text="See this")
    assert event["text"] == "See this" and await _receipt_status(stack, event["id"]) == "Delivered"


UNSHOWN = "The agent sent a message that this chat cannot show."
REACTIONS = {"contentType": "Reactions", "reactions": [{"reactionType": "Like", "count": 1}]}
FILE_WITHOUT_URL = {"contentType": "Attachment", "attachment": {"id": "a-1", "mediaType": "Image", "mime": "image/png"}}
EMPTY_CARD = {"contentType": "Card", "card": {}}
EMPTY_CAROUSEL = {"contentType": "Carousel", "carousel": {"cards": [{}]}}
EMPTY_NOTIFICATION = {"contentType": "Notification", "template": {"id": "tpl-1"}}
UNTITLED_QUICK_REPLY = {"contentType": "QuickReply", "quickReply": {"payload": "p-1", "action": "Message"}}
EMPTY_TEXT = {"contentType": "Text", "text": {"body": ""}}


@pytest.mark.parametrize("content", [REACTIONS, FILE_WITHOUT_URL, EMPTY_CARD, EMPTY_CAROUSEL, EMPTY_NOTIFICATION,
                                     UNTITLED_QUICK_REPLY, EMPTY_TEXT],
                         ids=["reactions", "file-without-url", "empty-card", "empty-carousel", "empty-notification",
                              "untitled-quick-reply", "empty-text"])
async def test_content_with_nothing_to_show_is_said_and_receipted_failed(
        make_stack: StackFactory, content: dict[str, Any]) -> None:
    deserialize(content, "ConversationMessageContent")  # a shape Genesys models, so an agent can send it
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    event = await _agent_sends(stack, cid, content)
    assert (event["source"], event["text"], event["data"]) == ("system", UNSHOWN, None)
    assert await _receipt_status(stack, event["id"]) == "Failed"
    receipt = next(r.json for r in stack.emu.requests
                   if r.path.endswith("/inbound/open/receipt") and r.json.get("id") == event["id"])
    assert [reason["code"] for reason in receipt["reasons"]] == ["UnsupportedMessage"]
    # With text, the text is what the user gets.
    event = await _agent_sends(stack, cid, content, text="Look at this")
    assert (event["source"], event["text"]) == ("agent", "Look at this")


async def test_content_that_cannot_be_shown_is_logged_once_per_type(
        make_stack: StackFactory, caplog: pytest.LogCaptureFixture) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    caplog.set_level(logging.WARNING, logger="extension.providers.genesys_om.delivery")
    for _ in range(2):
        event = await _agent_sends(stack, cid, {"contentType": "RoadsideAssistance", "roadsideAssistance": {"a": 1}})
        assert event["text"] == UNSHOWN
    assert lines(caplog, "'RoadsideAssistance' cannot be shown") == 1


async def test_a_button_of_a_card_goes_back_as_a_structured_response(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    event = await _agent_sends(stack, cid, CARD)
    choice = {"type": "Button", "payload": "plan-premium", "messageId": event["id"]}
    await stack.say("Choose", {"buttonResponse": choice})

    def answered() -> list[Any]:
        return [m for m in stack.emu.inbound_messages(cid) if m.type == "Structured"]

    [entry] = await eventually(answered, "the structured response")
    sent = next(r.json for r in stack.emu.requests if r.path.endswith("/structured/response"))
    model = deserialize(sent, "OpenInboundStructuredResponseMessage")
    response = {k: v for k, v in model["button_response"].items() if v is not None}
    assert response == {"type": "Button", "text": "Choose", "payload": "plan-premium"}
    assert model["originating_message_id"] == event["id"]
    assert entry is not None
    # A list picker's choice goes as a Button (the inbound model has no ListPicker response).
    picker = await _agent_sends(stack, cid, LIST_PICKER)
    await stack.say("Munich", {"buttonResponse": {"type": "ListPicker", "payload": "s-2", "messageId": picker["id"]}})
    await eventually(lambda: len(answered()) == 2, "the second structured response")
    last = [r.json for r in stack.emu.requests if r.path.endswith("/structured/response")][-1]
    assert last["buttonResponse"] == {"type": "Button", "text": "Munich", "payload": "s-2"}
