"""The customer messenger page and its JSON routes: no account, long-polls, the customer leaving."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from extension.testing.emulator import EmulatorConfig

from .conftest import GUARD, Api, FakeMiddleware, make_config
from .stub_bot import CONNECTOR_ID, StubBot, complete, more_data, start_stub


@pytest.fixture
async def stub(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> StubBot:
    return await start_stub(aiohttp_server)


@pytest.fixture
def config(middleware: FakeMiddleware, stub: StubBot) -> EmulatorConfig:
    return make_config(middleware.url, bot_connectors=[stub.connector()])


async def _post(api: Api, path: str, body: Any) -> tuple[int, Any]:
    async with api.client.post(path, json=body) as response:
        return response.status, await response.json()


async def _get(api: Api, path: str) -> tuple[int, Any]:
    async with api.client.get(path) as response:
        return response.status, await response.json()


async def test_the_page_and_its_files(api: Api) -> None:
    async with api.client.get("/messenger") as response:
        assert response.status == 200
        page = await response.text()
        policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert '<script src="/messenger/assets/messenger.js"' in page and "<script>" not in page
    for name, kind in (("messenger.js", "text/javascript"), ("messenger.css", "text/css")):
        async with api.client.get(f"/messenger/assets/{name}") as response:
            assert response.status == 200 and response.content_type == kind
    async with api.client.get("/messenger/assets/..%2Fapp.py") as response:
        assert response.status == 404
    assert api.emulator.requests.matching("/messenger*") == []  # not part of the emulated API


async def test_it_needs_no_account_and_names_the_integrations(api: Api) -> None:
    status, body = await _get(api, "/emulator/messenger")
    assert status == 200 and body == {"integrations": [{"id": CONNECTOR_ID, "name": "Support bot connector"}]}


async def test_a_long_poll_wakes_on_the_bots_answer(api: Api, stub: StubBot) -> None:
    hello = {"customerId": "c-9", "name": "Jane", "text": "Hi"}
    status, first = await _post(api, "/emulator/messenger/messages", hello)
    assert status == 200 and first["message"]["sender"] == "customer" and first["message"]["index"] == 0
    await api.emulator.settle()
    stub.script = [more_data("Hello Jane")]
    poll = asyncio.ensure_future(_get(api, "/emulator/messenger/events?customerId=c-9&after=2&wait=5"))
    await asyncio.sleep(0.05)
    assert not poll.done()
    await _post(api, "/emulator/messenger/messages", {"customerId": "c-9", "text": "Anyone?"})
    status, feed = await asyncio.wait_for(poll, GUARD)
    assert status == 200
    assert [(m["sender"], m["text"]) for m in feed["messages"]] == [("customer", "Anyone?")]
    status, feed = await asyncio.wait_for(_get(api, "/emulator/messenger/events?customerId=c-9&after=3&wait=5"), GUARD)
    assert [(m["sender"], m["text"]) for m in feed["messages"]] == [("bot", "Hello Jane")]
    assert api.emulator.conversations.require(feed["conversationId"]).customer.name == "Jane"


async def test_a_customer_sees_the_agent_typing_and_leaves(api: Api, stub: StubBot) -> None:
    stub.script = [complete("Escalate")]
    status, first = await _post(api, "/emulator/messenger/messages", {"customerId": "c-1", "text": "Agent"})
    await api.emulator.settle()
    cid = first["conversationId"]
    await _post(api, f"/emulator/conversations/{cid}/accept", {"agent": "Bob"})
    await _post(api, f"/emulator/conversations/{cid}/typing", {})
    status, feed = await _get(api, "/emulator/messenger/events?customerId=c-1")
    assert feed["agentTyping"] is True and feed["agent"] == "Bob"
    status, ended = await _post(api, "/emulator/messenger/end", {"customerId": "c-1"})
    assert status == 200 and ended["state"] == "ended"
    assert api.emulator.published_events(f"v2.detail.events.conversation.{cid}.customer.end")
    # A new message opens a new conversation, with the bot again.
    status, again = await _post(api, "/emulator/messenger/messages", {"customerId": "c-1", "text": "Back"})
    assert again["conversationId"] != cid
    await api.emulator.settle()
    status, feed = await _get(api, "/emulator/messenger/events?customerId=c-1")
    assert feed["conversationId"] == again["conversationId"] and feed["state"] == "bot"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"text": "Hi"}, 400),
        ({"customerId": "c-1"}, 400),
        ({"customerId": "c-1", "text": "  "}, 400),
        ({"customerId": "c-1", "text": "x" * 4001}, 400),
        ({"customerId": "c-1", "quickReply": {"text": "A"}}, 400),
        ({"customerId": "c-1", "text": "Hi", "integrationId": "nope"}, 404),
        ([], 400),
    ],
)
async def test_bad_messages_are_refused(api: Api, stub: StubBot, body: Any, status: int) -> None:
    answer, error = await _post(api, "/emulator/messenger/messages", body)
    assert answer == status and "error" in error
    await api.emulator.settle()
    assert stub.calls == [] and len(api.emulator.conversations) == 0


async def test_events_of_an_unknown_customer_are_empty(api: Api) -> None:
    status, feed = await _get(api, "/emulator/messenger/events?customerId=nobody&wait=0")
    assert status == 200 and feed["conversationId"] is None and feed["messages"] == []
    assert (await _get(api, "/emulator/messenger/events"))[0] == 400
    assert (await _post(api, "/emulator/messenger/end", {"customerId": "nobody"}))[0] == 404
