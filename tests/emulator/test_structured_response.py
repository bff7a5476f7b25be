"""Inbound structured responses: a quick reply the customer chose, checked as Genesys checks it."""

from __future__ import annotations

from typing import Any

import pytest

from extension.genesys.messages import inbound_structured_response

from .conftest import Api, FakeMiddleware
from .sdk import deserialize

PATH = "/api/v2/conversations/messages/integration-1/inbound/open/structured/response"


async def _offered(api: Api, middleware: FakeMiddleware) -> tuple[str, str]:
    """A conversation whose agent offered quick replies; (conversation id, that message's id)."""
    cid: str = (await api.inbound("hi"))["conversationId"]
    await api.emulator.agent.accept(cid, agent="Anna")
    await api.emulator.agent.reply(cid, "Pick one", quick_replies=["Yes", "No"])
    return cid, middleware.received[-1].body["id"]


async def test_a_chosen_quick_reply_reaches_the_conversation_as_genesys_models_it(
        api: Api, middleware: FakeMiddleware) -> None:
    cid, offered = await _offered(api, middleware)
    body = inbound_structured_response("m-9", "user-1", "Yes", "Yes", offered)
    # What the client sends is exactly the SDK's OpenInboundStructuredResponseMessage.
    sent = deserialize(body, "OpenInboundStructuredResponseMessage")
    assert sent["button_response"] == {"id": None, "type": "QuickReply", "text": "Yes", "payload": "Yes"}
    assert sent["originating_message_id"] == offered
    status, answer, _ = await api.call("POST", PATH, body)
    assert status == 200, answer
    model = deserialize(answer, "OpenStructuredResponseNormalizedMessage")
    assert (model["type"], model["direction"]) == ("Structured", "Inbound")
    [entry] = [e for e in api.emulator.inbound_messages(cid) if e.type == "Structured"]
    assert entry.text == "Yes" and entry.content[0]["buttonResponse"]["payload"] == "Yes"


def _bad(body: dict[str, Any], case: str) -> dict[str, Any]:
    if case == "unknown field":
        body["buttonResponse"]["colour"] = "red"
    elif case == "no payload":
        del body["buttonResponse"]["payload"]
    elif case == "type outside the enum":
        body["buttonResponse"]["type"] = "Carousel"
    elif case == "no originating message":
        del body["originatingMessageId"]
    elif case == "an id nobody sent":
        body["originatingMessageId"] = "not-a-message-of-this-conversation"
    return body


@pytest.mark.parametrize("case", ["unknown field", "no payload", "type outside the enum", "no originating message",
                                  "an id nobody sent"])
async def test_a_structured_response_genesys_would_refuse_is_400(api: Api, middleware: FakeMiddleware,
                                                                 case: str) -> None:
    cid, offered = await _offered(api, middleware)
    body = _bad(inbound_structured_response("m-9", "user-1", "Yes", "Yes", offered), case)
    status, answer, _ = await api.call("POST", PATH, body)
    assert status == 400, (case, answer)
    assert answer["status"] == 400 and answer["message"]
    assert not [e for e in api.emulator.inbound_messages(cid) if e.type == "Structured"]


async def test_a_structured_response_needs_an_open_conversation(api: Api) -> None:
    body = inbound_structured_response("m-9", "nobody-yet", "Yes", "Yes", "m-1")
    status, answer, _ = await api.call("POST", PATH, body)
    assert status == 400 and "open conversation" in answer["message"]
