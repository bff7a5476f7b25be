"""The Genesys side of a Bot Connector integration: the bot list, read and replaced as the SDK models it."""

from __future__ import annotations

from typing import Any

import pytest
from PureCloudPlatformClientV2 import (
    BotConnectorBot,
    BotConnectorBotSummaryEntityListing,
    BotConnectorBotVersion,
    BotConnectorBotVersionSummaryEntityListing,
    BotList,
)

from extension.testing.emulator import BotConnectorConfig, EmulatorConfig, bot
from extension.testing.emulator.__main__ import config_from, parse_args

from .conftest import Api, FakeMiddleware, make_config
from .sdk import deserialize

CONNECTOR = "bc-1"
BASE = f"/api/v2/integrations/botconnector/{CONNECTOR}/bots"
PREVIEW = f"/api/v2/integrations/botconnectors/{CONNECTOR}/bots"


@pytest.fixture
def config(middleware: FakeMiddleware) -> EmulatorConfig:
    connector = BotConnectorConfig(id=CONNECTOR, name="Bots", bot_uri="http://127.0.0.1:9/genesys-bot",
                                   bots=[bot("support-bot", ["Escalate", "Resolved"], name="Support bot",
                                             description="Answers first")])  # fmt: skip
    return make_config(middleware.url, bot_connectors=[connector])


def _attribute_names(model: type) -> set[str]:
    names: set[str] = set(model().attribute_map.values())
    return names


def a_bot(bot_id: str = "sales-bot", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": bot_id, "name": "Sales bot",
        "versions": [{"version": "2", "supportedLanguages": ["en-us", "de"],
                      "intents": [{"name": "Buy", "slots": {"product": {"name": "product", "type": "String"}}}]}],
    }  # fmt: skip
    body.update(changes)
    return body


async def test_get_answers_the_sdks_bot_list(api: Api) -> None:
    status, body, _ = await api.call("GET", BASE)
    assert status == 200
    parsed = deserialize(body, "BotList")
    [item] = parsed["chat_bots"]
    assert item["id"] == "support-bot" and item["name"] == "Support bot"
    assert item["versions"][0]["intents"] == [{"name": "Escalate", "slots": None}, {"name": "Resolved", "slots": None}]
    assert set(body) <= _attribute_names(BotList)
    assert set(body["chatBots"][0]) <= _attribute_names(BotConnectorBot)
    assert set(body["chatBots"][0]["versions"][0]) <= _attribute_names(BotConnectorBotVersion)
    assert body["chatBots"][0]["selfUri"] == f"{BASE}/support-bot"


async def test_put_replaces_the_list_and_a_get_put_round_trip_is_accepted(api: Api) -> None:
    status, _, _ = await api.call("PUT", BASE, {"chatBots": [a_bot()]})
    assert status == 204
    status, body, _ = await api.call("GET", BASE)
    assert [b["id"] for b in body["chatBots"]] == ["sales-bot"]
    assert body["chatBots"][0]["versions"][0]["intents"][0]["slots"]["product"]["type"] == "String"
    # What a GET answered (read-only botCompositeTag and selfUri included) may be put back.
    status, _, _ = await api.call("PUT", BASE, body)
    assert status == 204
    assert api.emulator.config.bot_connectors[0].bots == [a_bot()]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"chatBots": [a_bot(colour="red")]}, "chatBots[0].colour", "Unrecognized field 'chatBots[0].colour'"),
        ({"bots": [a_bot()]}, "body.bots", "Unrecognized field 'body.bots'"),
        ({}, "body.chatBots", "body.chatBots is required"),
        ({"chatBots": [{"id": "x"}]}, "chatBots[0].versions", "chatBots[0].versions is required"),
        ({"chatBots": [a_bot(id=7)]}, "chatBots[0].id", "chatBots[0].id must be a non-empty string"),
        ({"chatBots": [a_bot(versions=[{"version": "1", "intents": []}])]},
         "chatBots[0].versions[0].supportedLanguages", "supportedLanguages is required"),
        ({"chatBots": [a_bot(versions=[{"version": "1", "supportedLanguages": [], "intents": [{"label": "x"}]}])]},
         "chatBots[0].versions[0].intents[0].label", "Unrecognized field"),
        ({"chatBots": [a_bot(description="x" * 257)]}, "chatBots[0].description", "longer than 256"),
        ({"chatBots": [a_bot(), a_bot()]}, "chatBots[1].id", "listed twice"),
        ({"chatBots": [a_bot(versions=[{"version": "1", "supportedLanguages": ["en-us"], "intents": [
            {"name": "Buy", "slots": {"p": {"name": "p", "type": "Number"}}}]}])]},
         "chatBots[0].versions[0].intents[0].slots.p.type", "must be one of String"),
        ({"chatBots": "all"}, "body.chatBots", "must be an array"),
    ],
)  # fmt: skip
async def test_a_bad_put_is_refused_the_genesys_way(api: Api, body: Any, field: str, message: str) -> None:
    status, error, headers = await api.call("PUT", BASE, body)
    assert status == 400
    assert message in error["message"]
    assert error["status"] == 400 and error["code"] in ("bad.request", "invalid.value")
    assert error["details"] == [{"fieldName": field}]
    assert error["contextId"] == headers["Genesys-Correlation-Id"]
    assert [b["id"] for b in api.emulator.config.bot_connectors[0].bots] == ["support-bot"]  # unchanged


async def test_a_body_that_is_not_json_is_refused(api: Api) -> None:
    headers = {"Authorization": f"Bearer {await api.token()}", "Content-Type": "application/json"}
    async with api.client.put(BASE, data=b"{nope", headers=headers) as response:
        assert response.status == 400


async def test_summaries_one_bot_and_its_versions(api: Api) -> None:
    status, body, _ = await api.call("GET", BASE + "/summaries")
    assert status == 200
    listing = deserialize(body, "BotConnectorBotSummaryEntityListing")
    assert [(e["id"], e["name"], e["description"]) for e in listing["entities"]] == [
        ("support-bot", "Support bot", "Answers first")]
    assert listing["total"] == 1 and listing["page_number"] == 1 and listing["page_size"] == 25
    assert set(body) <= _attribute_names(BotConnectorBotSummaryEntityListing)

    status, body, _ = await api.call("GET", BASE + "/support-bot")
    assert status == 200 and deserialize(body, "BotConnectorBot")["id"] == "support-bot"
    status, body, _ = await api.call("GET", BASE + "/support-bot?version=1")
    assert status == 200 and [v["version"] for v in body["versions"]] == ["1"]
    assert (await api.call("GET", BASE + "/support-bot?version=9"))[0] == 404

    status, body, _ = await api.call("GET", BASE + "/support-bot/versions")
    assert status == 200
    versions = deserialize(body, "BotConnectorBotVersionSummaryEntityListing")
    assert [(e["id"], e["version"]) for e in versions["entities"]] == [("support-bot", "1")]
    assert set(body) <= _attribute_names(BotConnectorBotVersionSummaryEntityListing)
    assert (await api.call("GET", BASE + "/another-bot"))[0] == 404
    assert (await api.call("GET", BASE + "/summaries?pageSize=0"))[0] == 400


async def test_the_preview_routes(api: Api) -> None:
    status, body, _ = await api.call("GET", PREVIEW)
    assert status == 200
    listing = deserialize(body, "BotListing")
    assert listing["entities"][0]["versions"][0]["intents"][0] == {"name": "Escalate", "entities": []}
    status, body, _ = await api.call("GET", PREVIEW + "/support-bot")
    assert status == 200 and deserialize(body, "Bot")["name"] == "Support bot"
    status, body, _ = await api.call("GET", PREVIEW + "/summaries")
    assert status == 200 and deserialize(body, "BotSummaryEntityListing")["entities"][0]["id"] == "support-bot"


@pytest.mark.parametrize("path", [BASE, BASE + "/summaries", BASE + "/support-bot", PREVIEW])
async def test_an_unknown_integration_is_404(api: Api, path: str) -> None:
    status, body, _ = await api.call("GET", path.replace(CONNECTOR, "nope"))
    assert status == 404 and body["code"] == "not.found"
    # An Open Messaging integration is no Bot Connector either.
    status, _, _ = await api.call("PUT", BASE.replace(CONNECTOR, "integration-1"), {"chatBots": []})
    assert status == 404


@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_oauth_is_required(api: Api, method: str) -> None:
    async with api.client.request(method, BASE, json={"chatBots": []}) as response:
        assert response.status == 401
        assert (await response.json())["code"] == "authentication.required"
    status, _, _ = await api.call(method, BASE, {"chatBots": []} if method == "PUT" else None, token="forged")
    assert status == 401
    assert api.emulator.config.bot_connectors[0].bots != []


def test_a_bad_configured_bot_list_fails_at_construction() -> None:
    with pytest.raises(Exception, match="versions is required"):
        BotConnectorConfig(id="x", name="x", bot_uri="http://127.0.0.1:9", bots=[{"id": "b"}])


def test_the_command_line_configures_one_bot_connector() -> None:
    assert config_from(parse_args([])).bot_connectors == []
    args = parse_args(["--bot-uri", "http://127.0.0.1:8080/genesys-bot", "--bot-credential", "verify-token=a=b",
                       "--bot-id", "my-bot", "--bot-intent", "Escalate", "--bot-intent", "Resolved"])  # fmt: skip
    [connector] = config_from(args).bot_connectors
    assert connector.bot_uri == "http://127.0.0.1:8080/genesys-bot"
    assert connector.credentials == {"verify-token": "a=b"}
    assert connector.bots == [bot("my-bot", ["Escalate", "Resolved"])]
    with pytest.raises(SystemExit, match="HEADER=VALUE") as refused:
        config_from(parse_args(["--bot-uri", "http://x", "--bot-credential", "secret-without-header"]))
    assert "secret-without-header" not in str(refused.value)
