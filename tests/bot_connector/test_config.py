"""`validate` of a Bot Connector endpoint: what it refuses, naming the TOML path or the flow node."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from bot_connector.helpers import BOT_FLOW, CREDENTIAL, write_bot_config
from extension.config import ConfigError, load_config
from extension.manifest import Manifest
from extension.providers.genesys_bot_connector.settings import BotConnectorSettings

from support import config_text


def errors_of(tmp_path: Path, manifest: Manifest, flow: dict[str, Any] | None = None, **kw: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write_bot_config(tmp_path, flow, **kw), manifest, env={})
    return caught.value.errors


def test_a_valid_endpoint_loads_with_its_bot(tmp_path: Path, manifest: Manifest) -> None:
    config = load_config(write_bot_config(tmp_path), manifest, env={})
    [endpoint] = config.endpoints
    assert endpoint.type == "genesysBotConnector"
    bot = endpoint.type_settings
    assert isinstance(bot, BotConnectorSettings)
    assert bot.bot_id == "support-bot" and bot.intents == ("Escalate", "Resolved") and bot.deadline_seconds == 25
    assert CREDENTIAL not in repr(config) and CREDENTIAL not in repr(bot)


def test_an_undeclared_intent_of_a_node_is_refused_naming_the_node(tmp_path: Path, manifest: Manifest) -> None:
    flow = copy.deepcopy(BOT_FLOW)
    next(n for n in flow["nodes"] if n["id"] == "done")["config"]["intent"] = "Refund"
    [line] = errors_of(tmp_path, manifest, flow)
    assert line.startswith("endpoints[0].flow: node 'done' (completeBotSession)") and "'Refund'" in line


def test_an_escalation_intent_outside_the_intents_is_refused(tmp_path: Path, manifest: Manifest) -> None:
    assert errors_of(tmp_path, manifest, escalation='"Human"') == [
        "endpoints[0].botConnector.escalationIntent: 'Human' is not one of botConnector.intents (Escalate, Resolved)"]


@pytest.mark.parametrize("text", [None, "", "  "])
def test_a_say_with_quick_replies_and_no_text_is_refused_naming_it(
        tmp_path: Path, manifest: Manifest, text: str | None) -> None:
    flow = copy.deepcopy(BOT_FLOW)
    menu = next(n for n in flow["nodes"] if n["id"] == "menu")["config"]
    menu.pop("text")
    if text is not None:
        menu["text"] = text
    assert errors_of(tmp_path, manifest, flow) == [
        "endpoints[0].flow: node 'menu' (say) has quick replies but no text; a Bot Connector reply with quick "
        "replies (Structured) needs a text, their prompt"]


def test_a_handover_node_needs_an_escalation_intent(tmp_path: Path, manifest: Manifest) -> None:
    [line] = errors_of(tmp_path, manifest, escalation="")
    assert line.startswith("endpoints[0].botConnector.escalationIntent: required") and "'handover'" in line


def test_a_short_credential_is_refused_without_showing_it(tmp_path: Path, manifest: Manifest) -> None:
    path = write_bot_config(tmp_path)
    path.write_text(path.read_text().replace(CREDENTIAL, "short-secret"))
    with pytest.raises(ConfigError) as caught:
        load_config(path, manifest, env={})
    [line] = caught.value.errors
    assert line.startswith("endpoints[0].botConnector.credential:") and "short-secret" not in line


@pytest.mark.parametrize("extra", ['sessionAccess = "open"', 'apiKey = "an-api-key-0123"', 'handover = "support"',
                                   'copilotUrl = "https://copilot.example.com"'])
def test_user_route_settings_are_refused_on_such_an_endpoint(tmp_path: Path, manifest: Manifest, extra: str) -> None:
    key = extra.split(" ")[0]
    lines = errors_of(tmp_path, manifest, endpoint_extra=extra + "\n")
    assert any(line.startswith(f"endpoints[0].{key}: not used with type = 'genesysBotConnector'") for line in lines)


def test_the_table_is_required_and_strict(tmp_path: Path, manifest: Manifest) -> None:
    path = write_bot_config(tmp_path, table_extra='botname = "typo"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, manifest, env={})
    assert any(line.startswith("endpoints[0].botConnector.botname: unknown key") for line in caught.value.errors)
    text = path.read_text()
    path.write_text(text[:text.index("[endpoints.botConnector]")])
    with pytest.raises(ConfigError) as caught:
        load_config(path, manifest, env={})
    assert caught.value.errors == ["endpoints[0].botConnector: required with type = 'genesysBotConnector'"]


def test_a_webchat_endpoint_takes_neither_the_table_nor_the_node(
        write_config: Any, manifest: Manifest, tmp_path: Path) -> None:
    flow = {"name": "f", "nodes": [{"id": "end", "type": "completeBotSession", "config": {"intent": "Done"}}]}
    path = write_config(flow, endpoint_extra='[endpoints.botConnector]\nbotId = "x"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, manifest, env={})
    assert sorted(caught.value.errors) == sorted([
        "endpoints[0].botConnector: only used on an endpoint of the type that owns it, not type = 'webchat'",
        "endpoints[0].flow: node 'end' (completeBotSession) only runs on an endpoint of type 'genesysBotConnector'",
    ])


def test_an_unknown_endpoint_type_names_the_known_ones(tmp_path: Path, manifest: Manifest) -> None:
    (tmp_path / "flow.json").write_text('{"name": "f", "nodes": [{"id": "w", "type": "waitForInput"}]}')
    path = tmp_path / "c.toml"
    path.write_text(config_text(handover=False, endpoint_extra='type = "sms"\n'))
    with pytest.raises(ConfigError) as caught:
        load_config(path, manifest, env={})
    assert caught.value.errors == ["endpoints[0].type: Must be one of: webchat, genesysBotConnector."]
