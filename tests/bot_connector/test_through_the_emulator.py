"""The whole path: a customer of the emulator's messenger -> its Architect -> this runtime's Bot Connector
endpoint -> Complete -> the queue -> an agent of the console, with the emulator checking every answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot_connector.helpers import BASE, CREDENTIAL, FLAG, HEADER, flow_with, write_bot_config
from extension.app import build_app
from extension.config import load_config
from extension.manifest import Manifest
from extension.testing.emulator import BotConnectorConfig, Emulator, EmulatorConfig, QueueConfig

CONNECTOR = "bc-1"


class Customer:
    """The emulator (Genesys) with one Bot Connector integration calling the runtime, and a messenger user."""

    def __init__(self, emulator: Emulator, client: TestClient[Any, Any]) -> None:
        self.emulator = emulator
        self.client = client

    async def say(self, text: str | None = None, **body: Any) -> None:
        payload = {"customerId": "jane", "name": "Jane", **({"text": text} if text else {}), **body}
        async with self.client.post("/emulator/messenger/messages", json=payload) as response:
            assert response.status == 200, await response.text()
        await self.emulator.settle()

    async def feed(self) -> dict[str, Any]:
        async with self.client.get("/emulator/messenger/events?customerId=jane") as response:
            data: dict[str, Any] = await response.json()
            return data

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.client.post(path, json=body) as response:
            assert response.status == 200, await response.text()
            data: dict[str, Any] = await response.json()
            return data


async def start(aiohttp_server: Callable[..., Awaitable[TestServer]],
                aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]], tmp_path: Path,
                manifest: Manifest, flow: dict[str, Any] | None = None) -> Customer:  # fmt: skip
    config = load_config(write_bot_config(tmp_path, flow), manifest, env=FLAG)
    runtime = await aiohttp_server(build_app(config, manifest))
    connector = BotConnectorConfig(id=CONNECTOR, name="Support", bot_uri=str(runtime.make_url(BASE)),
                                   credentials={HEADER: CREDENTIAL}, queue_id="queue-support",
                                   response_timeout=10.0)  # fmt: skip
    queues = [QueueConfig(id="queue-support", name="Support"), QueueConfig(id="queue-billing", name="Billing")]
    emulator = Emulator(EmulatorConfig(bot_connectors=[connector], heartbeat_interval=3600.0, queues=queues))
    return Customer(emulator, await aiohttp_client(emulator.app))


@pytest.fixture
async def customer(aiohttp_server: Callable[..., Awaitable[TestServer]],
                   aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]], tmp_path: Path,
                   manifest: Manifest) -> Customer:  # fmt: skip
    return await start(aiohttp_server, aiohttp_client, tmp_path, manifest)


async def test_the_bot_list_is_read_from_the_runtime(customer: Customer) -> None:
    answer = await customer.post(f"/emulator/bot-connectors/{CONNECTOR}/fetch-bots", {})
    [bot] = answer["chatBots"]
    assert bot["id"] == "support-bot" and [i["name"] for i in bot["versions"][0]["intents"]] == ["Escalate", "Resolved"]


async def test_customer_bot_quick_reply_complete_queue_agent(customer: Customer) -> None:
    await customer.post(f"/emulator/bot-connectors/{CONNECTOR}/fetch-bots", {})
    await customer.say("hello")
    await customer.say("menu")
    feed = await customer.feed()
    assert [(m["sender"], m["text"]) for m in feed["messages"]] == [
        ("customer", "hello"), ("bot", "Hi, I am the bot."), ("customer", "menu"), ("bot", "Pick one")]
    offered = feed["messages"][-1]
    assert offered["quickReplies"] == [{"text": "Billing", "payload": "billing"}, {"text": "Other", "payload": "other"}]
    await customer.say(quickReply={"text": "Billing", "payload": "billing"}, originatingMessageId=offered["id"])
    await customer.say("an agent please")
    turns = customer.emulator.architect.turns
    assert [t.problem for t in turns] == [None] * 4, [t.reply for t in turns if t.problem]
    assert [t.outcome for t in turns] == ["MoreData", "MoreData", "MoreData", "Complete"]

    feed = await customer.feed()
    assert feed["state"] == "waiting"
    cid = feed["conversationId"]
    async with customer.client.get(f"/emulator/conversations/{cid}") as response:
        detail = await response.json()
    assert detail["queue"]["name"] == "Support"
    attributes = detail["customAttributes"]
    assert attributes["botState"] == "Complete" and attributes["botIntent"] == "Escalate"
    assert attributes["source"] == "bot" and attributes["language"] == "en-us"
    assert [e["sender"] for e in detail["transcript"]][:4] == ["customer", "bot", "customer", "bot"]

    await customer.post(f"/emulator/conversations/{cid}/accept", {"agent": "Anna"})
    await customer.post(f"/emulator/conversations/{cid}/reply", {"text": "Hi Jane, Anna here."})
    await customer.say("Thanks")
    assert len(customer.emulator.architect.turns) == 4  # the runtime is not called after Complete
    feed = await customer.feed()
    assert [(m["sender"], m["text"]) for m in feed["messages"][-2:]] == [("agent", "Hi Jane, Anna here."),
                                                                        ("customer", "Thanks")]  # fmt: skip


async def test_complete_bot_session_completes_with_its_intent(customer: Customer) -> None:
    await customer.post(f"/emulator/bot-connectors/{CONNECTOR}/fetch-bots", {})
    await customer.say("hello")
    await customer.say("bye")
    [_, last] = customer.emulator.architect.turns
    assert last.outcome == "Complete" and last.problem is None
    conversation = customer.emulator.conversations.require(last.conversation_id)
    assert conversation.attributes["botIntent"] == "Resolved" and conversation.attributes["summary"] == "said bye"


async def test_a_failing_flow_reaches_the_queue_with_its_error(customer: Customer) -> None:
    await customer.post(f"/emulator/bot-connectors/{CONNECTOR}/fetch-bots", {})
    await customer.say("hello")
    await customer.say("fail please")
    last = customer.emulator.architect.turns[-1]
    assert last.outcome == "Failed" and last.problem is None  # the runtime's own, well-formed Failed
    conversation = customer.emulator.conversations.require(last.conversation_id)
    assert conversation.state == "waiting" and conversation.attributes["botErrorCode"] == "FlowFailed"


async def test_a_handover_naming_a_queue_lands_in_that_queue(
        aiohttp_server: Callable[..., Awaitable[TestServer]],
        aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]], tmp_path: Path,
        manifest: Manifest) -> None:  # fmt: skip
    customer = await start(aiohttp_server, aiohttp_client, tmp_path, manifest, flow_with("handover", queue="Billing"))
    await customer.post(f"/emulator/bot-connectors/{CONNECTOR}/fetch-bots", {})
    await customer.say("hello")
    await customer.say("an agent please")
    last = customer.emulator.architect.turns[-1]
    assert last.outcome == "Complete" and last.problem is None
    async with customer.client.get(f"/emulator/conversations/{last.conversation_id}") as response:
        detail = await response.json()
    # Not the integration's own queue (Support): the one the node named.
    assert detail["queue"]["name"] == "Billing" and detail["customAttributes"]["queue"] == "Billing"
