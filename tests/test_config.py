"""Configuration: TOML, ${ENV}, validation by TOML path, secrets masked, feature flags."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from extension.config import Config, ConfigError, load_config
from extension.flags import FeatureFlags, Whitelist
from extension.manifest import Manifest
from extension.secrets import Secret

from support import CLIENT_SECRET, ECHO_FLOW, SECRET, config_text

REPO = Path(__file__).resolve().parents[1]


def errors_of(path: Path, manifest: Manifest, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, manifest, env=env or {})
    return info.value.errors


def replace_in(path: Path, old: str, new: str) -> Path:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return path


def test_the_example_config_is_valid(manifest: Manifest) -> None:
    config = load_config(REPO / "examples" / "demo.toml", manifest, env={})
    assert config.endpoints[0].url_token == "demo"
    assert config.store_url.startswith("sqlite:///")


def test_valid_config_loads_with_typed_values(make_config: Callable[..., Config]) -> None:
    config = make_config()
    conn = config.connections["support"]
    assert conn.type == "genesysCloudOM"
    assert isinstance(conn["webhookSecret"], Secret) and conn["webhookSecret"].reveal() == SECRET
    assert conn["sendProfile"] is False  # declared default
    assert config.endpoints[0].flow_path.name == "flow.json"
    assert config.flows["support-bot"].first().id == "hello"


def test_secrets_never_in_repr_or_str(make_config: Callable[..., Config]) -> None:
    config = make_config()
    for text in (repr(config), str(config), repr(config.connections["support"]), f"{config}"):
        assert SECRET not in text and CLIENT_SECRET not in text
    assert "***" in repr(config.connections["support"])


def test_env_interpolation(write_config: Callable[..., Path], manifest: Manifest) -> None:
    path = replace_in(write_config(), f'webhookSecret = "{SECRET}"', 'webhookSecret = "${HOOK}"')
    config = load_config(path, manifest, env={"HOOK": "from-the-environment-123"})
    assert config.connections["support"]["webhookSecret"].reveal() == "from-the-environment-123"


def test_missing_env_variable_names_path_and_variable(write_config: Callable[..., Path], manifest: Manifest) -> None:
    path = replace_in(write_config(), f'clientSecret = "{CLIENT_SECRET}"', 'clientSecret = "${NOT_SET_ANYWHERE}"')
    assert "connections.support.clientSecret: environment variable NOT_SET_ANYWHERE is not set" in errors_of(
        path, manifest)


def test_dollar_dollar_is_a_literal_dollar(write_config: Callable[..., Path], manifest: Manifest) -> None:
    path = replace_in(write_config(), 'clientId = "client-1"', 'clientId = "a$${b}"')
    assert load_config(path, manifest, env={}).connections["support"]["clientId"] == "a${b}"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('queue = "Support"\n', "", "connections.support.queue: Missing data for required field."),
        (f'webhookSecret = "{SECRET}"', 'webhookSecret = "short"',
         "connections.support.webhookSecret: Too short: 5 characters, at least 16 are needed."),
        ('clientId = "client-1"', "clientId = 42", "connections.support.clientId: Not a valid string."),
        ('clientId = "client-1"', 'clientId = "client-1"\nsendProfile = "yes"',
         "connections.support.sendProfile: Not a valid boolean."),
        ('clientId = "client-1"', 'clientId = "client-1"\ncolour = "red"',
         "connections.support.colour: Unknown field."),
        ('type = "genesysCloudOM"', 'type = "zendesk"',
         "connections.support.type: unknown connection type 'zendesk' (known: genesysCloudOM)"),
        ("port = 8080", "port = 99999", "server.port: Must be greater than or equal to 0 and less than"),
        ("port = 8080", 'port = "8080"', "server.port: Not a valid integer."),
        ('public_url = "https://bot.example.com"', 'public_url = "bot.example.com"',
         "server.public_url: Not a valid http(s) URL."),
        ('url = "memory://"', 'url = "mysql://x"', "store.url: unsupported store URL"),
        ('urlToken = "support-bot"', 'urlToken = "healthz"', "endpoints[0].urlToken: Reserved for the runtime's"),
        ('urlToken = "support-bot"', 'urlToken = "a/b"', "endpoints[0].urlToken: Use 1 to 128 letters"),
        ('handover = "support"', 'handover = "sales"', "endpoints[0].handover: no connection named 'sales'"),
        ('flow = "flow.json"', 'flow = "missing.json"', "endpoints[0].flow: missing.json: flow file not found"),
        ("[server]", "[serverr]\n[server]", "serverr: unknown section"),
    ],
)
def test_each_config_error_names_its_toml_path(
    write_config: Callable[..., Path], manifest: Manifest, old: str, new: str, expected: str
) -> None:
    errors = errors_of(replace_in(write_config(), old, new), manifest)
    assert any(e.startswith(expected) for e in errors), errors
    assert not any(SECRET in e or CLIENT_SECRET in e for e in errors)


def test_no_endpoints(tmp_path: Path, manifest: Manifest) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[store]\nurl = "memory://"\n')
    assert "endpoints: at least one [[endpoints]] table is needed" in errors_of(path, manifest)


def test_duplicate_url_tokens(write_config: Callable[..., Path], manifest: Manifest) -> None:
    path = write_config()
    path.write_text(path.read_text() + '\n[[endpoints]]\nurlToken = "support-bot"\nflow = "flow.json"\n')
    assert "endpoints[1].urlToken: 'support-bot' is used by another endpoint" in errors_of(path, manifest)


def test_not_toml(tmp_path: Path, manifest: Manifest) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[server\nport = 1")
    assert errors_of(path, manifest)[0].startswith(f"{path}: not valid TOML")


def test_missing_file(tmp_path: Path, manifest: Manifest) -> None:
    assert errors_of(tmp_path / "nope.toml", manifest) == [f"{tmp_path / 'nope.toml'}: config file not found"]


def _flow_errors(write_config: Callable[..., Path], manifest: Manifest, flow: dict[str, Any]) -> list[str]:
    return errors_of(write_config(flow), manifest)


@pytest.mark.parametrize(
    ("nodes", "expected"),
    [
        ([{"id": "a", "type": "say", "config": {"text": 5}}],
         "flow.json: node 'a' (say): field text: Not a valid string."),
        ([{"id": "a", "type": "dance"}], "flow.json: node 'a' (dance): type: unknown node type"),
        ([{"id": "a", "type": "goTo", "config": {"target": "zz"}}],
         "flow.json: node 'a' (goTo): field target: no node with id 'zz' in this flow"),
        ([{"id": "a", "type": "goTo", "config": {}}],
         "flow.json: node 'a' (goTo): field target: Missing data for required field."),
        ([{"id": "a", "type": "say", "next": "b"}], "flow.json: node 'a' (say): next: no node with id 'b'"),
        ([{"id": "a", "type": "say"}, {"id": "a", "type": "say"}], "flow.json: node 'a' (say): id: duplicate node id"),
        ([{"id": "a", "type": "switch", "config": {"on": "input.text", "cases": {"x": "nowhere"}}}],
         "flow.json: node 'a' (switch): field cases.x: no node with id 'nowhere'"),
        ([{"id": "a", "type": "switch", "config": {"on": "text", "cases": {}}}],
         "flow.json: node 'a' (switch): field on: Does not match"),
        ([{"id": "h", "type": "handoverToAgent", "config": {"priority": "high"}}],
         "flow.json: node 'h' (handoverToAgent): field priority: Not a valid number."),
        ([{"id": "h", "type": "handoverToAgent", "config": {"customAttributes": {"a": 1}}}],
         "flow.json: node 'h' (handoverToAgent): field customAttributes: Values must be strings (not: a)."),
        ([{"id": "h", "type": "handoverToAgent", "config": {"skills": "billing"}}],
         "flow.json: node 'h' (handoverToAgent): field skills: Not a valid list."),
        ([{"id": "a", "type": "say", "config": {"colour": "red"}}],
         "flow.json: node 'a' (say): field colour: Unknown field."),
        ([], "flow.json: nodes: Shorter than minimum length 1."),
    ],
)
def test_flow_errors_name_file_node_and_field(
    write_config: Callable[..., Path], manifest: Manifest, nodes: list[Any], expected: str
) -> None:
    errors = _flow_errors(write_config, manifest, {"name": "f", "nodes": nodes})
    assert any(e.startswith(f"endpoints[0].flow: {expected}") for e in errors), errors


def test_handover_node_needs_a_connection(write_config: Callable[..., Path], manifest: Manifest) -> None:
    flow = {"name": "f", "nodes": [{"id": "h", "type": "handoverToAgent"}]}
    path = write_config(flow, handover=False)
    assert "endpoints[0].handover: flow flow.json has handover node(s) h but the endpoint names no connection" \
        in errors_of(path, manifest)


def test_flow_not_json(write_config: Callable[..., Path], manifest: Manifest, tmp_path: Path) -> None:
    path = write_config()
    (tmp_path / "flow.json").write_text("[1,")
    assert errors_of(path, manifest)[0].startswith("endpoints[0].flow: flow.json: not valid JSON")


def test_relative_sqlite_path_is_relative_to_the_config(
    write_config: Callable[..., Path], manifest: Manifest, tmp_path: Path
) -> None:
    from extension.store import SqliteStore, store_from_url

    config = load_config(write_config(store="sqlite:///data/x.db"), manifest, env={})
    store = store_from_url(config.store_url, config.base_dir)
    assert isinstance(store, SqliteStore) and store.path == tmp_path / "data" / "x.db"


def test_feature_flags_parsing() -> None:
    flags = FeatureFlags.from_env({
        "FEATURE_ENABLE_GENESYS_CLOUD_OM": "TRUE",
        "FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST": " acme , beta ",
        "FEATURE_USE_GENESYS_BOT_CONNECTOR_ENDPOINT_WHITELIST": "*",
    })
    assert flags.genesys_om_for("acme") and flags.genesys_om_for("beta")
    assert not flags.genesys_om_for("other")
    assert flags.bot_connector_for("anyone")
    assert "FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST" in (flags.om_disabled_reason("other") or "")
    star = FeatureFlags.from_env({"FEATURE_ENABLE_GENESYS_CLOUD_OM": "true",
                                  "FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST": "*"})
    assert star.genesys_om_for("whoever") and star.om_disabled_reason("whoever") is None
    off = FeatureFlags.from_env({"FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST": "*"})
    assert not off.genesys_om_for("acme")
    assert off.om_disabled_reason("acme") == "set FEATURE_ENABLE_GENESYS_CLOUD_OM=true"
    assert Whitelist.parse("") == Whitelist()


def test_flags_come_from_the_given_environment(make_config: Callable[..., Config]) -> None:
    config = make_config(env={"FEATURE_ENABLE_GENESYS_CLOUD_OM": "true",
                              "FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST": "acme"})
    assert config.flags.genesys_om_for("acme")


def test_config_text_helper_is_valid_toml() -> None:
    import tomllib

    assert tomllib.loads(config_text())["endpoints"][0]["urlToken"] == "support-bot"
    assert json.dumps(ECHO_FLOW)
