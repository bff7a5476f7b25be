"""The provider seam: handover providers are found through the manifest, by connection type."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from marshmallow import RAISE, Schema, fields

from extension.app import build_app, warn_disabled_handovers
from extension.config import Config, ConfigError, config_warnings, load_config
from extension.copilot import CopilotView, issue_token
from extension.flags import FeatureFlags
from extension.flows.engine import Endpoint, NodeApi, Turn
from extension.flows.session import Session, SessionKey
from extension.handover import ProviderDeclaration, register_provider
from extension.manifest import DeclarationError, Manifest, load_manifest
from extension.sessions import AfterEnd

REPO = Path(__file__).resolve().parents[1]
ECHO_FLOW = {"name": "e", "nodes": [{"id": "s", "type": "say", "config": {"text": "said"}},
                                   {"id": "w", "type": "waitForInput"}]}
HANDOVER_FLOW = {"name": "h", "nodes": [{"id": "h", "type": "handoverToAgent", "config": {}},
                                        {"id": "w", "type": "waitForInput"}]}
CALLS: list[tuple[str, str | None]] = []


class RecordingProvider:
    """A provider that records what the generic nodes ask of it."""

    async def start(self, api: NodeApi, config: dict[str, Any]) -> None:
        CALLS.append(("start", api.endpoint.handover))
        api.emit_handover("queue")

    async def close(self, api: NodeApi, config: dict[str, Any]) -> None:
        CALLS.append(("close", api.endpoint.handover))

    def copilot_view(self, session: Session, handover: str) -> CopilotView:
        CALLS.append(("copilot", handover))
        return CopilotView("queue", "Recorded & waiting", "rec-1", session.transcript[:1])

    async def on_input(self, turn: Turn) -> bool:
        # Every input after the start is the agent's: the flow does not run for it.
        started = ("start", turn.endpoint.handover) in CALLS
        CALLS.append(("input", turn.input.get("text")))
        return started

    async def on_typing(self, endpoint: Endpoint, key: SessionKey) -> None:
        CALLS.append(("typing", key.user_id))

    async def on_session_end(self, session: Session) -> AfterEnd | None:
        CALLS.append(("end", session.key.user_id))
        return None


def install_recording(app: web.Application, config: Config, declaration: ProviderDeclaration) -> None:
    """A provider factory, as a manifest names it."""
    from extension import keys

    async def webhook(request: web.Request) -> web.Response:
        return web.json_response({"provider": "recording"})

    register_provider(app[keys.SESSIONS], declaration.connection_type, RecordingProvider())
    app.router.add_post(declaration.webhook_path, webhook)


def _with_provider(manifest: Manifest, **changes: Any) -> Manifest:
    [(name, declaration)] = manifest.providers.items()
    return dataclasses.replace(manifest, providers={name: dataclasses.replace(declaration, **changes)})


async def _serve(app: web.Application) -> TestClient[Any, Any]:
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


async def test_the_handover_node_calls_the_provider_the_manifest_names_for_its_connection_type(
        make_config: Callable[..., Config], manifest: Manifest) -> None:
    CALLS.clear()
    recording = _with_provider(manifest, factory="test_providers:install_recording", webhook_path="/hooks/om")
    client = await _serve(build_app(make_config(flow=HANDOVER_FLOW), recording))
    try:
        resp = await client.post("/support-bot", json={"userId": "u1", "sessionId": "s1", "text": "hi"})
        assert resp.status == 200
        assert CALLS == [("input", "hi"), ("start", "support")]
        # While the provider holds the session, inputs, typing and the session's end reach it.
        resp = await client.post("/support-bot", json={"userId": "u1", "sessionId": "s1", "text": "agent?"})
        assert resp.status == 200 and resp.ok and (await resp.json())["outputStack"] == []
        ws = await client.ws_connect("/support-bot/socket", params={"userId": "u1", "sessionId": "s1"})
        await ws.send_json({"type": "typing"})
        await ws.close()
        assert (await client.delete("/support-bot/session", params={"userId": "u1", "sessionId": "s1"})).status \
            in (200, 204)
        assert CALLS[2:] == [("input", "agent?"), ("typing", "u1"), ("end", "u1")]
        # The declared path is the one route; the old one is not served by anyone.
        assert await (await client.post("/hooks/om", json={})).json() == {"provider": "recording"}
        assert (await client.post("/handover/genesysCloudOM", json={})).status in (404, 405)
    finally:
        await client.close()


async def test_a_provider_hears_only_the_endpoints_of_its_connection_type(
        make_config: Callable[..., Config], manifest: Manifest) -> None:
    CALLS.clear()
    plain = """
[[endpoints]]
urlToken = "plain-bot"
organisation = "acme"
flow = "flow.json"
sessionAccess = "open"
"""
    recording = _with_provider(manifest, factory="test_providers:install_recording")
    client = await _serve(build_app(make_config(flow=ECHO_FLOW, extra=plain), recording))
    try:
        ids = {"userId": "u2", "sessionId": "s2"}
        resp = await client.post("/plain-bot", json={**ids, "text": "hello"})
        assert resp.status == 200 and (await resp.json())["outputStack"]  # the flow ran
        ws = await client.ws_connect("/plain-bot/socket", params=ids)
        await ws.send_json({"type": "typing"})
        await ws.close()
        assert (await client.delete("/plain-bot/session", params=ids)).status in (200, 204)
        assert CALLS == []
        # The endpoint of the provider's connection type still reaches it.
        assert (await client.post("/support-bot", json={**ids, "text": "hi"})).status == 200
        assert CALLS == [("input", "hi")]
    finally:
        await client.close()


async def test_the_copilot_page_shows_what_the_provider_of_the_endpoint_says(
        make_config: Callable[..., Config], manifest: Manifest) -> None:
    CALLS.clear()
    secret = "copilot-secret-for-tests-0123456789"
    config = make_config(flow=HANDOVER_FLOW, server_extra=f'copilot_secret = "{secret}"')
    recording = _with_provider(manifest, factory="test_providers:install_recording")
    client = await _serve(build_app(config, recording))
    try:
        resp = await client.post("/support-bot", json={"userId": "u1", "sessionId": "s1", "text": "first words"})
        assert resp.status == 200
        assert config.server.copilot_secret is not None
        auth = issue_token(config.server.copilot_secret, SessionKey("support-bot", "u1", "s1"), handover="h-7")
        page = await client.get("/copilot", params={"URLToken": "support-bot", "auth": auth})
        body = await page.text()
        assert page.status == 200 and CALLS[-1] == ("copilot", "h-7")
        assert 'data-state="queue">Recorded &amp; waiting<' in body and ">rec-1<" in body
        assert "first words" in body
    finally:
        await client.close()


async def test_the_genesys_provider_serves_the_webhook_path_the_manifest_declares(
        make_config: Callable[..., Config], manifest: Manifest) -> None:
    client = await _serve(build_app(make_config(), _with_provider(manifest, webhook_path="/in/genesys")))
    try:
        unsigned = await client.post("/in/genesys", json={"channel": {}})
        assert unsigned.status == 401  # the Genesys webhook, refusing an unsigned body
        assert (await client.post("/handover/genesysCloudOM", json={})).status in (404, 405)
    finally:
        await client.close()


async def test_without_a_provider_for_its_connection_type_the_node_ends_unsupported(
        make_config: Callable[..., Config], manifest: Manifest) -> None:
    client = await _serve(build_app(make_config(flow=HANDOVER_FLOW), _with_provider(manifest, factory=None)))
    try:
        resp = await client.post("/support-bot", json={"userId": "u1", "sessionId": "s1", "text": "hi"})
        assert resp.status == 200
        events = await (await client.get("/support-bot/events", params={"userId": "u1", "sessionId": "s1"})).json()
        assert [e for e in events["events"] if e["type"] == "handover"][0]["status"] == "error"
    finally:
        await client.close()


def _manifest_errors(tmp_path: Path, *more: dict[str, Any], **provider: Any) -> str:
    """What load_manifest says of the repository's declarations with the provider changed (and `more` added)."""
    root = tmp_path / "decl"
    root.mkdir()
    shutil.copy(REPO / "manifest.json", root)
    shutil.copytree(REPO / "nodes", root / "nodes")
    shutil.copytree(REPO / "connections", root / "connections")
    data = json.loads((root / "manifest.json").read_text())
    data["handoverProviders"][0].update(provider)
    data["handoverProviders"] += more
    (root / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(DeclarationError) as caught:
        load_manifest(root)
    return str(caught.value)


def test_a_factory_that_cannot_be_imported_is_refused_naming_the_field(tmp_path: Path) -> None:
    assert ("manifest.json: handoverProviders[0].factory: cannot import module 'extension.nowhere'"
            in _manifest_errors(tmp_path, factory="extension.nowhere:install"))


@pytest.mark.parametrize(("dotted", "expected"), [
    ("extension.nowhere:SETTINGS", "settings: cannot import module 'extension.nowhere'"),
    ("extension.providers.genesys_om.settings:NOTHING",
     "settings: module 'extension.providers.genesys_om.settings' has no 'NOTHING'"),
    ("extension.providers.genesys_om.settings:HandoverSettings",
     "settings: extension.providers.genesys_om.settings:HandoverSettings is not provider settings"),
    ("test_providers:SERVER_SETTINGS", "settings: section 'server' belongs to the runtime"),
    ("not a path", "settings: Must be a dotted path"),
])
def test_settings_that_are_not_usable_are_refused_naming_the_field(tmp_path: Path, dotted: str,
                                                                   expected: str) -> None:
    assert f"manifest.json: handoverProviders[0].{expected}" in _manifest_errors(tmp_path, settings=dotted)


def test_two_providers_cannot_own_one_section(tmp_path: Path) -> None:
    second = {"type": "second", "label": "Second", "connectionType": "genesysCloudOM", "webhookPath": "/h/second",
              "settings": "extension.providers.genesys_om.settings:SETTINGS"}
    assert ("manifest.json: handoverProviders[1].settings: section 'handover' is owned by handoverProviders[0]"
            in _manifest_errors(tmp_path, second))


class RecordingSchema(Schema):
    class Meta:
        unknown = RAISE

    greeting = fields.String(load_default="hello")


@dataclasses.dataclass(frozen=True)
class Recorded:
    greeting: str = "hello"
    flag: str = ""


class RecordingSettings:
    """Provider settings owning a [recording] table, as a manifest names them."""

    section = "recording"
    schema = RecordingSchema

    def build(self, values: dict[str, Any], env: Mapping[str, str]) -> Recorded:
        if env.get("RECORDING_FLAG") == "bad":
            raise ValueError("RECORDING_FLAG must not be bad")
        return Recorded(**values, flag=env.get("RECORDING_FLAG", ""))

    def check_connection(self, values: Mapping[str, Any]) -> dict[str, str]:
        return {"host": "not a recording host"} if values["host"] == "nowhere" else {}

    def warnings(self, connections: Sequence[str], public_url: str | None) -> list[str]:
        return [f"recording: {', '.join(connections)} at {public_url}"]

    def disabled_reason(self, flags: FeatureFlags, organisation: str) -> str | None:
        return None if flags.whitelist("FEATURE_RECORDING").allows(organisation) else "add it to FEATURE_RECORDING"


class ServerSettings(RecordingSettings):
    """Settings that would take a table of the runtime."""

    section = "server"


RECORDING_SETTINGS = RecordingSettings()
SERVER_SETTINGS = ServerSettings()


def test_the_config_section_is_the_one_the_provider_settings_own(
        write_config: Callable[..., Path], manifest: Manifest) -> None:
    recording = _with_provider(manifest, settings=RECORDING_SETTINGS)
    config = load_config(write_config(extra='[recording]\ngreeting = "hi"'), recording, env={"RECORDING_FLAG": "on"})
    assert config.settings_for("genesysCloudOM", Recorded) == Recorded("hi", "on")
    assert config_warnings(config) == ["recording: support at https://bot.example.com"]
    with pytest.raises(TypeError):
        config.settings_for("genesysCloudOM", Config)
    # The defaults when the section is left out; a connection type with no settings gets its kind's defaults.
    assert load_config(write_config(), recording, env={}).settings_for("genesysCloudOM", Recorded) == Recorded()
    assert config.settings_for("otherType", Recorded) == Recorded()

    def errors(text: str, env: dict[str, str] | None = None) -> list[str]:
        path = write_config(extra=text)
        path.write_text(path.read_text().replace('host = "mypurecloud.de"', 'host = "nowhere"'))
        with pytest.raises(ConfigError) as caught:
            load_config(path, recording, env=env or {})
        return caught.value.errors

    assert errors("[recording]\ngreting = 1", {"RECORDING_FLAG": "bad"}) == [
        "connections.support.host: not a recording host",
        "recording.greting: unknown key; did you mean 'greeting'?",
        "environment: RECORDING_FLAG must not be bad",
    ]
    assert errors("[handover]\nretry_attempts = 2")[0].startswith("handover: unknown section")


def test_a_section_no_provider_owns_is_an_unknown_section(write_config: Callable[..., Path],
                                                          manifest: Manifest) -> None:
    path = write_config(extra="[handover]\nretry_attempts = 2")
    assert load_config(path, manifest, env={})  # the Genesys provider owns [handover]
    with pytest.raises(ConfigError) as caught:
        load_config(path, _with_provider(manifest, settings=None), env={})
    assert caught.value.errors == ["handover: unknown section (known: connections, endpoints, server, store)"]


def test_an_endpoint_type_other_than_webchat_is_refused(make_config: Callable[..., Config]) -> None:
    with pytest.raises(ConfigError) as caught:
        make_config(endpoint_extra='type = "telegram"')
    assert any(line.startswith("endpoints[0].type: Must be one of: webchat") for line in caught.value.errors)
    assert make_config().endpoints[0].type == "webchat"


def test_a_handover_its_provider_switches_off_is_one_warning_in_the_provider_s_terms(
        make_config: Callable[..., Config], manifest: Manifest, caplog: pytest.LogCaptureFixture) -> None:
    config = make_config(flow=HANDOVER_FLOW)
    with caplog.at_level("WARNING", logger="extension.app"):
        warnings = warn_disabled_handovers(config, manifest)
    assert warnings == [
        "endpoint 'support-bot' (organisation 'acme'): Genesys Cloud Open Messaging handover is off, "
        "handoverToAgent will end with status error/unsupported; to enable it, set FEATURE_ENABLE_GENESYS_CLOUD_OM=true"
    ]
    assert warnings[0] in caplog.text
    on = make_config(flow=HANDOVER_FLOW, env={"FEATURE_ENABLE_GENESYS_CLOUD_OM": "true",
                                             "FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST": "acme"})
    assert warn_disabled_handovers(on, manifest) == []
    # Another provider's flags, label and reason; an endpoint without a handover has no warning.
    recording = _with_provider(manifest, settings=RECORDING_SETTINGS, label="Recording")
    assert warn_disabled_handovers(on, recording) == [
        "endpoint 'support-bot' (organisation 'acme'): Recording handover is off, "
        "handoverToAgent will end with status error/unsupported; to enable it, add it to FEATURE_RECORDING"
    ]
    assert warn_disabled_handovers(make_config(handover=False), manifest) == []
