"""`genesys-om doctor` on a Bot Connector endpoint, against the running demo (runtime and emulator)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from doctor.helpers import run_cli
from extension.demo import Demo, start_demo
from extension.doctor import Check, run_doctor

FLAG = {"FEATURE_USE_GENESYS_BOT_CONNECTOR_ENDPOINT_WHITELIST": "demo"}
CREDENTIAL = "demo-bot-connector-credential"


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    running = await start_demo(workdir=tmp_path / "demo")
    yield running
    await running.stop()


def write(tmp_path: Path, demo: Demo, *, credential: str = CREDENTIAL, public_url: str | None = None,
          integration_id: str | None = None) -> Path:
    (tmp_path / "flow.json").write_text(json.dumps({"name": "f", "nodes": [{"id": "w", "type": "waitForInput"}]}))
    connector = demo.emulator.config.bot_connectors[0]
    path = tmp_path / "doctor.toml"
    path.write_text(f"""
[server]
public_url = "{public_url or demo.runtime_url}"
[store]
url = "memory://"
[connections.genesys]
type = "genesysCloudOM"
host = "{demo.emulator_url}"
deploymentName = "BotHandover"
queue = "Support"
webhookSecret = "demo-webhook-secret-0123456789"
clientId = "demo-client"
clientSecret = "demo-client-secret"
[[endpoints]]
urlToken = "demo-genesys-bot"
type = "genesysBotConnector"
organisation = "demo"
flow = "flow.json"
[endpoints.botConnector]
credentialHeader = "verify-token"
credential = "{credential}"
botId = "demo-bot"
botName = "Demo bot"
intents = ["Escalate"]
escalationIntent = "Escalate"
integrationId = "{integration_id or connector.id}"
""")
    return path


def bot_checks(checks: list[Check]) -> dict[str, Check]:
    return {c.id: c for c in checks if c.id.startswith("bot_connector")}


async def test_a_correct_setup_passes_every_bot_connector_check(tmp_path: Path, demo: Demo) -> None:
    demo.emulator.add_bot_connector(demo.emulator.config.bot_connectors[0])
    checks = bot_checks(await run_doctor(write(tmp_path, demo), env=FLAG))
    assert list(checks) == ["bot_connector_flag", "bot_connector_credential", "bot_connector_reachable",
                            "bot_connector_integration"]
    assert {k: c.status for k, c in checks.items()} == dict.fromkeys(checks, "pass"), checks
    assert all(c.connection == "endpoint demo-genesys-bot" for c in checks.values())


async def test_what_is_wrong_is_named_without_the_credential(tmp_path: Path, demo: Demo) -> None:
    checks = bot_checks(await run_doctor(write(tmp_path, demo, credential="short-one"), env={}))
    assert checks["bot_connector_flag"].status == "fail"
    assert "FEATURE_USE_GENESYS_BOT_CONNECTOR_ENDPOINT_WHITELIST" in (checks["bot_connector_flag"].hint or "")
    assert checks["bot_connector_credential"].status == "fail"
    assert checks["bot_connector_credential"].detail == "botConnector.credential has only 9 characters"
    # The running runtime refuses the wrong credential: the doctor says so.
    assert checks["bot_connector_reachable"].status == "fail" and "403" in checks["bot_connector_reachable"].detail
    assert "short-one" not in json.dumps([c.__dict__ for c in checks.values()])
    checks = bot_checks(await run_doctor(write(tmp_path, demo, public_url="http://127.0.0.1:9"), env=FLAG))
    assert checks["bot_connector_reachable"].status == "fail"
    checks = bot_checks(await run_doctor(write(tmp_path, demo, integration_id="no-such-integration"), env=FLAG))
    assert checks["bot_connector_integration"].status == "fail"
    assert "botConnector.integrationId" in (checks["bot_connector_integration"].hint or "")


async def test_fix_puts_the_bot_into_the_integration_s_bot_list(tmp_path: Path, demo: Demo) -> None:
    connector = demo.emulator.config.bot_connectors[0]
    connector.bots[:] = [{"id": "someone-else", "name": "Other bot", "versions": [
        {"version": "1", "supportedLanguages": ["en-us"], "intents": [{"name": "Other", "slots": {}}]}]}]
    config = write(tmp_path, demo)
    checks = bot_checks(await run_doctor(config, env=FLAG))
    assert checks["bot_connector_integration"].status == "fail"
    code, out, _ = await run_cli("doctor", "--config", str(config), "--fix", "--yes")
    assert "endpoint demo-genesys-bot: Bot Connector integration" in out and "add bot 'demo-bot'" in out
    ids = [b["id"] for b in connector.bots]
    assert ids == ["someone-else", "demo-bot"]  # the other bot is kept
    checks = bot_checks(await run_doctor(config, env=FLAG))
    assert checks["bot_connector_integration"].status == "pass"
    # Nothing more to do the second time.
    _, out, _ = await run_cli("doctor", "--config", str(config), "--fix", "--yes")
    assert "demo-genesys-bot: Bot Connector integration" in out and "nothing to change" in out
    assert code in (0, 1)
