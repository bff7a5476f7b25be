"""Reading the bot list from the bot itself (`GET {bot_uri}/botconnector/bots`), strictly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from extension.testing.emulator import EmulatorConfig

from .conftest import Api, FakeMiddleware, make_config
from .sdk import deserialize
from .stub_bot import CONNECTOR_ID, CREDENTIAL, CREDENTIAL_HEADER, URL_TOKEN, StubBot, complete, start_stub

FETCH = f"/emulator/bot-connectors/{CONNECTOR_ID}/fetch-bots"


@pytest.fixture
async def stub(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> StubBot:
    return await start_stub(aiohttp_server)


@pytest.fixture
def config(middleware: FakeMiddleware, stub: StubBot) -> EmulatorConfig:
    return make_config(middleware.url, bot_connectors=[stub.connector()])


def served(**changes: Any) -> dict[str, Any]:
    """A `Bot` as the bot's own routes answer it."""
    body: dict[str, Any] = {
        "id": "flow-bot", "name": "Flow bot", "description": "The runtime's flow",
        "versions": [{"version": "1", "supportedLanguages": ["en-us"], "intents": [
            {"name": "Escalate", "entities": []},
            {"name": "Order", "entities": [{"name": "item", "type": "String"}]}]}],
    }  # fmt: skip
    body.update(changes)
    return body


async def _fetch(api: Api) -> tuple[int, Any]:
    async with api.client.post(FETCH) as response:
        return response.status, await response.json()


async def test_the_bots_list_becomes_the_integrations(api: Api, stub: StubBot) -> None:
    stub.listing = [served()]
    status, body = await _fetch(api)
    assert status == 200
    base = f"/{URL_TOKEN}/botconnector/bots"
    assert [r.path for r in stub.reads] == [base, f"{base}/flow-bot"]
    assert all(r.headers[CREDENTIAL_HEADER] == CREDENTIAL for r in stub.reads)
    [bot] = deserialize(body, "BotList")["chat_bots"]
    assert bot["versions"][0]["intents"][1] == {"name": "Order", "slots": {"item": {"name": "item", "type": "String"}}}
    assert api.emulator.config.bot_connectors[0].bots == body["chatBots"]
    # The flow now calls that bot and accepts its intents.
    api.emulator.config.bot_connectors[0].bot_id = "flow-bot"
    stub.script = [complete("Order")]
    async with api.client.post("/emulator/messenger/messages", json={"customerId": "c", "text": "hi"}) as response:
        assert response.status == 200
    await api.emulator.settle()
    assert stub.calls[0].body["botId"] == "flow-bot"
    assert api.emulator.architect.turns[0].outcome == "Complete"


@pytest.mark.parametrize(
    ("listing", "by_id", "problem"),
    [
        ([served(intents=[])], {}, "listing.entities[0] has unknown field(s) intents"),
        ([served(versions=[{"version": "1", "supportedLanguages": ["en-us"],
                            "intents": [{"name": "X", "entities": [{"name": "n", "type": "Number"}]}]}])], {},
         "entities[0].type must be one of String"),
        ([served(versions=[{"version": "1", "intents": []}])], {}, "supportedLanguages must be an array"),
        ([served(name="")], {}, "name must be a non-empty string"),
        ([served(versions=[{"version": " 1", "supportedLanguages": [], "intents": []}])], {}, "not a valid BotList"),
        ([served()], {"flow-bot": served(name="Another name")}, "is not the bot the list shows"),
        ([served()], {"flow-bot": "nope"}, "must be a JSON object"),
    ],
)  # fmt: skip
async def test_a_malformed_list_changes_nothing(
    api: Api, stub: StubBot, listing: list[Any], by_id: dict[str, Any], problem: str
) -> None:
    before = list(api.emulator.config.bot_connectors[0].bots)
    stub.listing, stub.by_id = listing, by_id
    status, body = await _fetch(api)
    assert status == 502 and problem in body["error"]
    assert api.emulator.config.bot_connectors[0].bots == before


async def test_a_bot_refusing_the_credential_is_said(api: Api, stub: StubBot) -> None:
    api.emulator.add_bot_connector(stub.connector(credentials={CREDENTIAL_HEADER: "wrong-credential-000"}))
    status, body = await _fetch(api)
    assert status == 502 and "HTTP 403" in body["error"] and "wrong-credential" not in body["error"]
    assert (await api.client.post("/emulator/bot-connectors/nope/fetch-bots")).status == 404
