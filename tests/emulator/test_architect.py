"""The emulated Architect flow of a Bot Connector integration: the bot's calls, its checks, the transfer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from PureCloudPlatformClientV2 import (
    BotEntityValue,
    ContentButtonResponse,
    ConversationContentQuickReply,
    OutgoingMessageRequest,
)

from extension.testing.emulator import EmulatorConfig
from extension.testing.emulator.bot_list import ENTITY_TYPES
from extension.testing.emulator.bot_reply import BOT_STATES, QUICK_REPLY_ACTIONS

from .conftest import Api, FakeMiddleware, make_config
from .sdk import deserialize, sdk_enum
from .stub_bot import (
    BOT_ID,
    CONNECTOR_ID,
    CREDENTIAL,
    CREDENTIAL_HEADER,
    URL_TOKEN,
    StubBot,
    complete,
    more_data,
    start_stub,
    text,
)

REQUEST_FIELDS = {"botId", "botVersion", "botSessionId", "messageId", "inputMessage", "languageCode",
                  "botSessionTimeout", "genesysConversationId"}  # fmt: skip


@pytest.fixture
async def stub(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> StubBot:
    return await start_stub(aiohttp_server)


@pytest.fixture
def config(middleware: FakeMiddleware, stub: StubBot) -> EmulatorConfig:
    return make_config(middleware.url, bot_connectors=[stub.connector()])


async def say(api: Api, body: dict[str, Any] | str, customer: str = "c-1") -> dict[str, Any]:
    """The customer writes on the messenger; returns once the bot's turn is over."""
    payload = {"text": body} if isinstance(body, str) else body
    async with api.client.post("/emulator/messenger/messages", json={"customerId": customer, **payload}) as response:
        answer: dict[str, Any] = await response.json()
        assert response.status == 200, answer
    await api.emulator.settle()
    return answer


async def events(api: Api, customer: str = "c-1", after: int = 0) -> dict[str, Any]:
    async with api.client.get(f"/emulator/messenger/events?customerId={customer}&after={after}") as response:
        assert response.status == 200
        data: dict[str, Any] = await response.json()
        return data


async def console(api: Api, conversation_id: str) -> dict[str, Any]:
    async with api.client.get(f"/emulator/conversations/{conversation_id}") as response:
        assert response.status == 200
        data: dict[str, Any] = await response.json()
        return data


async def turns(api: Api) -> list[dict[str, Any]]:
    async with api.client.get("/emulator/architect/turns") as response:
        data: list[dict[str, Any]] = (await response.json())["turns"]
        return data


def test_the_enums_are_the_sdks() -> None:
    assert sorted(BOT_STATES) == sorted(sdk_enum(OutgoingMessageRequest, "bot_state"))
    assert list(ENTITY_TYPES) == sdk_enum(BotEntityValue, "type")
    assert list(QUICK_REPLY_ACTIONS) == sdk_enum(ConversationContentQuickReply, "action")
    assert "QuickReply" in sdk_enum(ContentButtonResponse, "type")


async def test_the_call_carries_the_request_and_the_credential(api: Api, stub: StubBot) -> None:
    first = await say(api, "Hello")
    await say(api, "Still there?")
    assert [c.path for c in stub.calls] == [f"/{URL_TOKEN}/botconnector/messages"] * 2
    call, second = stub.calls
    assert call.headers[CREDENTIAL_HEADER] == CREDENTIAL
    assert call.headers["Content-Type"] == "application/json"
    assert set(call.body) == REQUEST_FIELDS
    assert call.body["botId"] == BOT_ID and call.body["botVersion"] == "1"
    assert call.body["languageCode"] == "en-us" and call.body["botSessionTimeout"] == 360
    assert call.body["genesysConversationId"] == first["conversationId"]
    assert deserialize(call.body["inputMessage"], "InputMessage") == {"type": "Text", "text": "Hello", "content": None}
    assert second.body["botSessionId"] == call.body["botSessionId"]
    assert second.body["messageId"] != call.body["messageId"]
    assert second.body["inputMessage"]["text"] == "Still there?"


async def test_parameters_are_sent_when_the_action_has_some(api: Api, stub: StubBot) -> None:
    api.emulator.add_bot_connector(stub.connector(parameters={"channel": "web"}))
    await say(api, "Hello")
    assert stub.calls[0].body["parameters"] == {"channel": "web"}


async def test_more_data_reaches_the_customer_and_the_bot_keeps_the_conversation(api: Api, stub: StubBot) -> None:
    stub.script = [more_data("Hi!", "How can I help?")]
    answer = await say(api, "Hello")
    feed = await events(api)
    assert [(m["sender"], m["text"]) for m in feed["messages"]] == [
        ("customer", "Hello"), ("bot", "Hi!"), ("bot", "How can I help?")]
    assert feed["state"] == "bot" and feed["next"] == 3
    assert (await events(api, after=3))["messages"] == []
    async with api.client.get("/emulator/conversations?state=bot") as response:
        listed = (await response.json())["conversations"]
    assert [c["id"] for c in listed] == [answer["conversationId"]]
    assert [t["outcome"] for t in await turns(api)] == ["MoreData"]


async def test_complete_with_a_declared_intent_transfers_to_the_queue(api: Api, stub: StubBot) -> None:
    stub.script = [
        more_data("Hi! What do you need?"),
        complete("Escalate", "Connecting you to an agent.", parameters={"reason": "billing question"},
                 entities=[{"name": "topic", "type": "String", "value": "invoice"}], confidence=0.9),
    ]  # fmt: skip
    cid = (await say(api, "Hello"))["conversationId"]
    await say(api, "An agent please")
    async with api.client.get("/emulator/conversations?state=waiting") as response:
        waiting = (await response.json())["conversations"]
    assert [(c["id"], c["queue"]["id"]) for c in waiting] == [(cid, "queue-support")]
    detail = await console(api, cid)
    assert [(e["sender"], e["text"]) for e in detail["transcript"]] == [
        ("customer", "Hello"), ("bot", "Hi! What do you need?"),
        ("customer", "An agent please"), ("bot", "Connecting you to an agent.")]  # fmt: skip
    assert detail["customAttributes"] == {"botState": "Complete", "botIntent": "Escalate", "reason": "billing question",
                                          "botEntity.topic": "invoice", "botConfidence": "0.9"}  # fmt: skip
    assert {p["purpose"] for p in detail["participants"]} == {"customer", "acd"}
    assert detail["channel"] == "messenger" and detail["transcript"][1]["delivery"] == "delivered"

    # After the transfer the customer talks to the agent: the bot is not called again.
    async with api.client.post(f"/emulator/conversations/{cid}/accept", json={"agent": "Anna"}) as response:
        assert response.status == 200
    async with api.client.post(f"/emulator/conversations/{cid}/reply", json={"text": "Hi, Anna here"}) as response:
        assert response.status == 200
    await say(api, "Thanks Anna")
    assert len(stub.calls) == 2
    feed = await events(api)
    assert [(m["sender"], m["text"]) for m in feed["messages"][-2:]] == [("agent", "Hi, Anna here"),
                                                                        ("customer", "Thanks Anna")]  # fmt: skip
    assert feed["state"] == "active" and feed["agent"] == "Anna"


async def test_turns_run_one_at_a_time_and_a_message_after_complete_waits_for_the_agent(
    api: Api, stub: StubBot
) -> None:
    stub.delay = 0.2
    stub.script = [complete("Escalate", "Bye from the bot")]
    for message in ("Agent please", "Are you there?"):
        body = {"customerId": "c-1", "text": message}
        async with api.client.post("/emulator/messenger/messages", json=body) as response:
            assert response.status == 200
    await api.emulator.settle()
    assert len(stub.calls) == 1
    cid = stub.calls[0].body["genesysConversationId"]
    detail = await console(api, cid)
    assert [(e["sender"], e["text"]) for e in detail["transcript"]] == [
        ("customer", "Agent please"), ("customer", "Are you there?"), ("bot", "Bye from the bot")]
    assert detail["state"] == "waiting"


async def test_the_queue_parameter_names_the_queue(api: Api, stub: StubBot) -> None:
    stub.script = [complete("Escalate", parameters={"queue": "Billing"})]
    cid = (await say(api, "Hello"))["conversationId"]
    assert (await console(api, cid))["queue"]["name"] == "Billing"


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (complete("Bogus", "Bye"),
         "reply.intent 'Bogus' is not declared in the bot list (declared: Escalate, Resolved)"),
        ({"botState": "Complete", "replyMessages": []}, "reply.intent is required"),
        ({"botState": "Done", "replyMessages": [text("Hi")]},
         "reply.botState must be one of Complete, Failed, MoreData"),
        ({"botState": "MoreData", "replymessages": [text("Hi")]}, "reply has unknown field(s) replymessages"),
        (more_data() | {"replyMessages": [{"type": "Text"}]}, "reply.replyMessages[0].text is required"),
        (more_data() | {"replyMessages": [{"type": "Card", "text": "x"}]}, "replyMessages[0].type must be one of Text"),
        (more_data() | {"replyMessages": [{"type": "Text", "text": "x", "content": []}]},
         "a Text message carries no content"),
        (more_data() | {"replyMessages": [{"type": "Structured", "text": "Pick", "content": [
            {"contentType": "QuickReply", "quickReply": {"text": "A", "payload": "a"}}]}]},
         "content[0].quickReply.action must be Message"),
        (more_data() | {"replyMessages": [{"type": "Structured", "text": "Pick", "content": [
            {"contentType": "ButtonResponse", "buttonResponse": {"text": "A"}}]}]}, "unknown field(s) buttonResponse"),
        (complete("Escalate") | {"entities": [{"name": "n", "type": "Number", "value": "1"}]},
         "reply.entities[0].type must be one of String"),
        (complete("Escalate") | {"entities": [{"name": "n", "type": "IntegerCollection", "value": "1"}]},
         "a IntegerCollection carries `values`"),
        (complete("Escalate") | {"parameters": {"n": 1}}, "reply.parameters must be an object of string values"),
        (complete("Escalate") | {"confidence": 3}, "reply.confidence must be a number from 0 to 1"),
        (more_data("x") | {"botSessionId": "another"}, "reply.botSessionId 'another' is not the request's"),
        ((500, '{"error": "boom"}'), "HTTP 500; a bot answers 200"),
        ((200, "<html>oops</html>"), "the body is not JSON"),
        ((307, ""), "HTTP 307; a bot answers 200"),
        ((200, '{"botState": "MoreData", "replyMessages": []}', "text/plain"),
         "the answer's Content-Type is text/plain, not application/json"),
    ],
)  # fmt: skip
async def test_an_invalid_reply_takes_the_failed_path(api: Api, stub: StubBot, reply: Any, problem: str) -> None:
    stub.script = [reply]
    cid = (await say(api, "Hello"))["conversationId"]
    [turn] = await turns(api)
    assert turn["outcome"] == "Failed" and problem in turn["problem"]
    detail = await console(api, cid)
    assert detail["state"] == "waiting"
    assert [e["sender"] for e in detail["transcript"]] == ["customer"]  # nothing of a bad answer is relayed
    assert detail["customAttributes"]["botState"] == "Failed"
    assert problem in detail["customAttributes"]["botErrorMessage"]
    [shown] = detail["botTurns"]
    assert shown["outcome"] == "Failed" and problem in shown["problem"]


async def test_a_bot_that_says_failed_transfers_with_its_error(api: Api, stub: StubBot) -> None:
    stub.script = [{"botState": "Failed", "replyMessages": [text("Sorry")],
                    "errorInfo": {"errorCode": "flow.error", "errorMessage": "node crashed"}}]  # fmt: skip
    cid = (await say(api, "Hello"))["conversationId"]
    detail = await console(api, cid)
    assert detail["state"] == "waiting"
    assert detail["customAttributes"] == {"botState": "Failed", "botErrorCode": "flow.error",
                                          "botErrorMessage": "node crashed"}  # fmt: skip
    assert [e["text"] for e in detail["transcript"]] == ["Hello", "Sorry"]


async def test_a_reply_slower_than_the_timeout_is_failed(api: Api, stub: StubBot) -> None:
    api.emulator.add_bot_connector(stub.connector(response_timeout=0.2))
    stub.delay = 1.0
    stub.script = [complete("Escalate", "too late")]
    cid = (await say(api, "Hello"))["conversationId"]
    [turn] = await turns(api)
    assert turn["outcome"] == "Failed" and "response timeout of 0.2 s" in turn["problem"]
    assert turn["duration"] < 0.9
    detail = await console(api, cid)
    assert detail["customAttributes"]["botState"] == "Failed"
    assert [e["text"] for e in detail["transcript"]] == ["Hello"]


async def test_a_quick_reply_click_comes_back_as_a_button_response(api: Api, stub: StubBot) -> None:
    options = [{"contentType": "QuickReply", "quickReply": {"text": t, "payload": p, "action": "Message"}}
               for t, p in (("Billing", "topic-billing"), ("Other", "topic-other"))]  # fmt: skip
    stub.script = [{"botState": "MoreData", "replyMessages": [{"type": "Structured", "text": "Which topic?",
                                                               "content": options}]}]  # fmt: skip
    await say(api, "Hello")
    offered = (await events(api))["messages"][-1]
    assert offered["quickReplies"] == [{"text": "Billing", "payload": "topic-billing"},
                                       {"text": "Other", "payload": "topic-other"}]  # fmt: skip
    click = {"quickReply": {"text": "Billing", "payload": "topic-billing"}, "originatingMessageId": offered["id"]}
    await say(api, click)
    message = stub.calls[1].body["inputMessage"]
    assert message == {"type": "Structured", "text": "Billing", "content": [
        {"contentType": "ButtonResponse", "buttonResponse": {"type": "QuickReply", "text": "Billing",
                                                             "payload": "topic-billing"}}]}  # fmt: skip
    parsed = deserialize(message, "InputMessage")
    assert parsed["content"][0]["button_response"]["payload"] == "topic-billing"


async def test_a_quick_reply_must_answer_a_message_of_the_conversation(api: Api, stub: StubBot) -> None:
    await say(api, "Hello")
    body = {"customerId": "c-1", "quickReply": {"text": "A", "payload": "a"}, "originatingMessageId": "nope"}
    async with api.client.post("/emulator/messenger/messages", json=body) as response:
        assert response.status == 409
    assert len(stub.calls) == 1


async def test_a_click_must_be_a_quick_reply_the_message_offered(api: Api, stub: StubBot) -> None:
    offer = {"contentType": "QuickReply", "quickReply": {"text": "Yes", "payload": "yes", "action": "Message"}}
    question = {"type": "Structured", "text": "OK?", "content": [offer]}
    stub.script = [{"botState": "MoreData", "replyMessages": [question]}]
    await say(api, "Hello")
    offered = (await events(api))["messages"][-1]
    body = {"customerId": "c-1", "quickReply": {"text": "No", "payload": "no"}, "originatingMessageId": offered["id"]}
    async with api.client.post("/emulator/messenger/messages", json=body) as response:
        assert response.status == 409 and "offers no quick reply" in (await response.json())["error"]
    assert len(stub.calls) == 1


async def test_an_intent_is_checked_against_the_bot_list_as_it_is_now(api: Api, stub: StubBot) -> None:
    version = {"version": "1", "supportedLanguages": ["en-us"], "intents": [{"name": "Other"}]}
    bots = [{"id": BOT_ID, "versions": [version]}]
    status, _, _ = await api.call("PUT", f"/api/v2/integrations/botconnector/{CONNECTOR_ID}/bots", {"chatBots": bots})
    assert status == 204
    stub.script = [complete("Escalate")]
    await say(api, "Hello")
    [turn] = await turns(api)
    assert turn["outcome"] == "Failed" and "(declared: Other)" in turn["problem"]


async def test_a_bot_missing_from_the_list_is_not_called(api: Api, stub: StubBot) -> None:
    api.emulator.add_bot_connector(stub.connector(bot_id="another-bot"))
    await say(api, "Hello")
    assert stub.calls == []
    [turn] = await turns(api)
    assert "has no bot another-bot" in turn["problem"]


async def test_no_credential_value_is_shown(api: Api, stub: StubBot) -> None:
    stub.script = [(500, "{}")]
    await say(api, "Hello")
    async with api.client.get("/emulator/bot-connectors") as response:
        listing = await response.text()
    assert CREDENTIAL_HEADER in listing and CREDENTIAL not in listing
    assert CREDENTIAL not in str(await turns(api))
    assert CREDENTIAL not in repr(api.emulator.config.bot_connectors[0])
