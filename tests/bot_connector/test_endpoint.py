"""The Bot Connector endpoint through HTTP against the running app: every rule of docs/CONTRACT.md 12."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot_connector.helpers import BASE, HEADERS, BotClient, call
from extension import keys
from extension.flows.session import SessionKey
from extension.providers.genesys_bot_connector import turns
from extension.testing.clock import ManualClock

from support import while_advancing

MESSAGES = f"{BASE}/botconnector/messages"


async def ask(client: TestClient[Any, Any], body: Any, url: str = MESSAGES,
              headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    resp = await client.post(url, data=data, headers={"Content-Type": "application/json",
                                                      **(HEADERS if headers is None else headers)})
    return resp.status, await resp.json()


def texts(answer: dict[str, Any]) -> list[str]:
    return [m["text"] for m in answer["replyMessages"]]


async def stored(client: TestClient[Any, Any], session: str = "bs-1", conversation: str = "conv-1") -> Any:
    return await client.app[keys.STORE].get_session(SessionKey("genesys-bot", conversation, session).id)


async def test_the_bot_list_describes_the_configured_bot(bot_client: BotClient) -> None:
    client = await bot_client()
    resp = await client.get(f"{BASE}/botconnector/bots", headers=HEADERS)
    bot = {"id": "support-bot", "name": "Support bot", "description": "", "versions": [
        {"version": "1", "supportedLanguages": ["en-us"],
         "intents": [{"name": "Escalate", "entities": []}, {"name": "Resolved", "entities": []}]}]}
    assert resp.status == 200 and await resp.json() == {"entities": [bot]}
    resp = await client.get(f"{BASE}/botconnector/bots/support-bot", headers=HEADERS)
    assert await resp.json() == bot
    resp = await client.get(f"{BASE}/botconnector/bots/other-bot", headers=HEADERS)
    assert resp.status == 404 and "botId" in (await resp.json())["error"]


@pytest.mark.parametrize("headers", [{}, {"verify-token": "wrong-credential-0123456"}, {"Verify-Token": ""},
                                     {"other-header": "bot-connector-credential-0123"}])
async def test_every_route_needs_the_credential_header(bot_client: BotClient, headers: dict[str, str]) -> None:
    client = await bot_client()
    for method, url in (("GET", f"{BASE}/botconnector/bots"), ("GET", f"{BASE}/botconnector/bots/support-bot"),
                        ("POST", MESSAGES), ("POST", BASE)):
        resp = await client.request(method, url, json=call() if method == "POST" else None, headers=headers)
        assert resp.status == 403, (method, url)
        body = await resp.json()
        assert body == {"error": "missing or wrong credential"} and "credential-0123" not in json.dumps(body)
    assert await stored(client) is None


async def test_with_the_flag_off_for_its_organisation_the_routes_are_404_and_start_up_says_so(
        bot_client: BotClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        client = await bot_client(env={"FEATURE_USE_GENESYS_BOT_CONNECTOR_ENDPOINT_WHITELIST": "other-org"})
    warnings = [r.getMessage() for r in caplog.records if "genesys-bot" in r.getMessage()]
    assert len(warnings) == 1 and "FEATURE_USE_GENESYS_BOT_CONNECTOR_ENDPOINT_WHITELIST" in warnings[0]
    for method, url in (("GET", f"{BASE}/botconnector/bots"), ("POST", MESSAGES), ("POST", BASE)):
        resp = await client.request(method, url, json=call() if method == "POST" else None, headers=HEADERS)
        assert resp.status == 404
    everyone = await bot_client(env={"FEATURE_USE_GENESYS_BOT_CONNECTOR_ENDPOINT_WHITELIST": "*"})
    assert (await everyone.get(f"{BASE}/botconnector/bots", headers=HEADERS)).status == 200


async def test_each_turn_answers_more_data_with_the_bot_outputs_in_order(bot_client: BotClient) -> None:
    client = await bot_client()
    status, answer = await ask(client, call("hello"))
    assert status == 200 and answer == {"botState": "MoreData",
                                        "replyMessages": [{"type": "Text", "text": "Hi, I am the bot."}]}
    status, answer = await ask(client, call("what is this"))
    assert answer == {"botState": "MoreData", "replyMessages": [{"type": "Text", "text": "You said: what is this"}]}
    # The session is the Genesys conversation and bot session: userId and sessionId of the flow.
    doc = await stored(client)
    assert doc["userId"] == "conv-1" and doc["sessionId"] == "bs-1"
    assert [t["text"] for t in doc["transcript"]] == ["hello", "Hi, I am the bot.", "what is this",
                                                      "You said: what is this"]
    # Another bot session of the same conversation is a session of its own.
    _, other = await ask(client, call("hello", session="bs-2"))
    assert texts(other) == ["Hi, I am the bot."]


async def test_quick_replies_become_structured_replies_and_a_click_comes_back_as_text_and_payload(
        bot_client: BotClient) -> None:
    flow = {"name": "menu", "nodes": [
        {"id": "menu", "type": "say", "config": {"text": "Pick one", "data": {"quickReplies": [
            {"title": "Billing", "payload": "billing"}, {"title": "Other", "payload": "other"}]}}},
        {"id": "wait", "type": "waitForInput"},
        {"id": "echo", "type": "say", "config": {
            "text": "{{input.text}} / {{input.data.payload}} / {{input.data.parameters.channel}}"}},
        {"id": "loop", "type": "goTo", "config": {"target": "wait"}}]}
    client = await bot_client(flow=flow, escalation="")
    _, answer = await ask(client, call("hi"))
    assert answer["replyMessages"] == [{"type": "Structured", "text": "Pick one", "content": [
        {"contentType": "QuickReply", "quickReply": {"text": "Billing", "payload": "billing", "action": "Message"}},
        {"contentType": "QuickReply", "quickReply": {"text": "Other", "payload": "other", "action": "Message"}}]}]
    click = call(None, parameters={"channel": "whatsapp"})
    click["inputMessage"] = {"type": "Structured", "text": "Billing", "content": [
        {"contentType": "ButtonResponse", "buttonResponse": {"type": "QuickReply", "text": "Billing",
                                                              "payload": "billing"}}]}
    _, answer = await ask(client, click)
    assert texts(answer) == ["Billing / billing / whatsapp"]


async def test_handover_to_agent_completes_with_the_escalation_intent_and_routing_parameters(
        bot_client: BotClient) -> None:
    client = await bot_client()
    await ask(client, call("hello"))
    status, answer = await ask(client, call("I want an agent"))
    assert status == 200 and answer == {
        "botState": "Complete", "replyMessages": [{"type": "Text", "text": "You are being connected to an agent."}],
        "intent": "Escalate", "confidence": 1.0, "entities": [],
        "parameters": {"source": "bot", "language": "en-us", "skills": "billing,vip", "priority": "5"}}
    # The bot session has ended: another message of it starts the flow again.
    _, answer = await ask(client, call("hello again"))
    assert answer["botState"] == "MoreData" and texts(answer) == ["Hi, I am the bot."]


async def test_complete_bot_session_answers_its_intent_and_parameters(bot_client: BotClient) -> None:
    client = await bot_client()
    await ask(client, call("hello"))
    _, answer = await ask(client, call("bye now"))
    assert answer["botState"] == "Complete" and answer["intent"] == "Resolved"
    assert answer["parameters"] == {"summary": "said bye"}


async def test_a_flow_that_cannot_finish_answers_failed_and_keeps_only_that_answer(bot_client: BotClient) -> None:
    client = await bot_client()
    await ask(client, call("hello"))
    before = await stored(client)
    events_before = await client.app[keys.STORE].read_events(SessionKey("genesys-bot", "conv-1", "bs-1").id)
    status, answer = await ask(client, call("fail please", message_id="m-fail"))
    assert status == 200 and answer["botState"] == "Failed" and answer["replyMessages"] == []
    assert answer["errorInfo"]["errorCode"] == "FlowFailed" and answer["errorInfo"]["errorMessage"]
    after = await stored(client)
    # Nothing of the failed turn is stored: only its answer, for a retry of the message.
    assert after["transcript"] == before["transcript"] and after["pointer"] == before["pointer"]
    assert after["context"][turns.STATE]["answers"]["m-fail"] == answer
    assert await client.app[keys.STORE].read_events(SessionKey("genesys-bot", "conv-1", "bs-1").id) \
        == events_before


async def test_a_turn_past_the_deadline_answers_failed(bot_client: BotClient,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()  # the deadline is on the runtime's clock
    client = await bot_client(table_extra="deadline_seconds = 1\n", clock=clock)
    await ask(client, call("hello"))
    store = client.app[keys.STORE]
    async with store.lock(SessionKey("genesys-bot", "conv-1", "bs-1").id):
        # Another turn holds the session: this one cannot run within its deadline, nor keep its answer.
        waiting = asyncio.ensure_future(ask(client, call("anyone?", message_id="m-held")))
        await clock.advance(0.9)
        assert not waiting.done()  # not before its deadline
        status, answer = await while_advancing(clock, waiting, step=0.5)
    assert status == 200 and answer["botState"] == "Failed"
    assert answer["errorInfo"]["errorCode"] == "Timeout" and "1 s" in answer["errorInfo"]["errorMessage"]
    assert "the Failed answer of a message was not kept" in caplog.text
    assert "m-held" not in (await stored(client))["context"][turns.STATE]["answers"]


async def test_a_repeated_message_id_gets_the_same_answer_without_a_second_run(bot_client: BotClient) -> None:
    client = await bot_client()
    await ask(client, call("hello"))
    body = call("once", message_id="m-42")
    _, first = await ask(client, body)
    log_after_first = await client.app[keys.STORE].read_events(SessionKey("genesys-bot", "conv-1", "bs-1").id)
    for url in (MESSAGES, BASE):
        _, again = await ask(client, body, url=url)
        assert again == first
    assert await client.app[keys.STORE].read_events(SessionKey("genesys-bot", "conv-1", "bs-1").id) \
        == log_after_first
    assert [t["text"] for t in (await stored(client))["transcript"]].count("once") == 1


async def test_the_legacy_single_url_takes_the_same_calls(bot_client: BotClient) -> None:
    client = await bot_client()
    status, answer = await ask(client, call("hello"), url=BASE)
    assert status == 200 and texts(answer) == ["Hi, I am the bot."]
    _, answer = await ask(client, call("agent please"), url=BASE)
    assert answer["botState"] == "Complete" and answer["intent"] == "Escalate"


async def test_a_bot_session_past_its_timeout_starts_over(bot_client: BotClient) -> None:
    clock = ManualClock()
    client = await bot_client(clock=clock)
    await ask(client, call("hello"))
    await clock.advance(29 * 60)
    _, answer = await ask(client, call("still here", botSessionTimeout=30))
    assert texts(answer) == ["You said: still here"]
    await clock.advance(31 * 60)
    _, answer = await ask(client, call("back after lunch", botSessionTimeout=30))
    assert texts(answer) == ["Hi, I am the bot."]


@pytest.mark.parametrize(("body", "status", "says"), [
    (b"{not json", 400, "JSON"),
    (b"[]", 400, "object"),
    ({k: v for k, v in call().items() if k != "botSessionId"}, 400, "botSessionId"),
    ({k: v for k, v in call().items() if k != "messageId"}, 400, "messageId"),
    ({k: v for k, v in call().items() if k != "genesysConversationId"}, 400, "genesysConversationId"),
    ({**call(), "botSessionId": ""}, 400, "botSessionId"),
    ({**call(), "inputMessage": {"type": "Image", "text": "x"}}, 400, "inputMessage.type"),
    ({**call(), "inputMessage": "hello"}, 400, "inputMessage"),
    ({**call(), "inputMessage": {"type": "Text", "text": 5}}, 400, "inputMessage.text"),
    ({**call(), "parameters": {"a": 1}}, 400, "parameters.a"),
    ({**call(), "botSessionTimeout": -1}, 400, "botSessionTimeout"),
    ({**call(), "botId": "someone-else"}, 404, "botId"),
    (json.dumps({**call(), "pad": "x" * (1024 * 1024)}), 413, "large"),
])
async def test_bad_calls_get_a_clear_answer_and_change_nothing(
        bot_client: BotClient, body: Any, status: int, says: str) -> None:
    client = await bot_client()
    for url in (MESSAGES, BASE):
        got, answer = await ask(client, body, url=url)
        assert got == status and says.lower() in answer["error"].lower(), (url, answer)
    assert await stored(client) is None


async def test_the_user_routes_do_not_exist_on_a_bot_connector_endpoint(bot_client: BotClient) -> None:
    client = await bot_client()
    params = {"userId": "conv-1", "sessionId": "bs-1"}
    for method, url in (("GET", f"{BASE}/events"), ("DELETE", f"{BASE}/session"), ("GET", f"{BASE}/socket"),
                        ("GET", f"/webchat{BASE}")):
        resp = await client.request(method, url, params=params, headers=HEADERS)
        assert resp.status == 404, (method, url)
    # A webchat-style body on the single URL is a malformed bot call, never a user input.
    got, answer = await ask(client, {**params, "text": "hi"}, url=BASE)
    assert got == 400 and await stored(client) is None


async def test_two_calls_of_one_bot_session_at_once_run_one_after_the_other(bot_client: BotClient) -> None:
    client = await bot_client()
    await ask(client, call("hello"))
    answers = await asyncio.gather(*(ask(client, call(f"message {n}")) for n in range(4)))
    assert sorted(texts(a)[0] for _, a in answers) == [f"You said: message {n}" for n in range(4)]
    transcript = [t["text"] for t in (await stored(client))["transcript"]]
    # Each input is followed by its own answer: no two turns interleaved.
    pairs = list(zip(transcript[2::2], transcript[3::2], strict=True))
    assert all(answer == f"You said: {said}" for said, answer in pairs) and len(pairs) == 4
