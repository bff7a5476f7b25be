"""Configuration: TOML, ${ENV}, validation by TOML path, secrets masked, feature flags."""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from extension.config import Config, ConfigError, load_config, mask_url, parse_config
from extension.flags import FeatureFlags, Whitelist
from extension.interpolation import MALFORMED
from extension.manifest import Manifest
from extension.providers.genesys_flags import bot_connector_for, genesys_om_for, om_disabled_reason
from extension.providers.genesys_om.settings import ACW_TIMEOUT_ENV, HandoverSchema, HandoverSettings
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
         "connections.support.colour: unknown key (known: clientId, clientSecret, deploymentName, endHandoverApiKey, "
         "host, queue, sendProfile, webhookSecret)"),
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
        ([{"id": "a", "type": "switch", "config": {"on": "input.text", "cases": {"/[unclosed/i": "a"}}}],
         "flow.json: node 'a' (switch): field cases./[unclosed/i: invalid regular expression"),
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
        "GENESYS_CLIENT_SECRET": CLIENT_SECRET,
    })
    assert genesys_om_for(flags, "acme") and genesys_om_for(flags, "beta")
    assert not genesys_om_for(flags, "other")
    assert bot_connector_for(flags, "anyone")
    assert flags.whitelist("FEATURE_USE_GENESYS_BOT_CONNECTOR_ENDPOINT_WHITELIST") == Whitelist(everyone=True)
    assert "FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST" in (om_disabled_reason(flags, "other") or "")
    # Only the flags are kept: nothing else of the environment reaches a repr.
    assert CLIENT_SECRET not in repr(flags) and set(flags.values) == {
        "FEATURE_ENABLE_GENESYS_CLOUD_OM", "FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST",
        "FEATURE_USE_GENESYS_BOT_CONNECTOR_ENDPOINT_WHITELIST"}
    star = FeatureFlags.from_env({"FEATURE_ENABLE_GENESYS_CLOUD_OM": "true",
                                  "FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST": "*"})
    assert genesys_om_for(star, "whoever") and om_disabled_reason(star, "whoever") is None
    assert not bot_connector_for(star, "whoever")
    off = FeatureFlags.from_env({"FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST": "*"})
    assert not genesys_om_for(off, "acme")
    assert om_disabled_reason(off, "acme") == "set FEATURE_ENABLE_GENESYS_CLOUD_OM=true"
    assert om_disabled_reason(FeatureFlags.from_env({"FEATURE_ENABLE_GENESYS_CLOUD_OM": "on"}), "acme") == (
        "add 'acme' (or *) to FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST (now: (empty))")
    assert Whitelist.parse("") == Whitelist()


def test_flags_come_from_the_given_environment(make_config: Callable[..., Config]) -> None:
    config = make_config(env={"FEATURE_ENABLE_GENESYS_CLOUD_OM": "true",
                              "FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST": "acme"})
    assert genesys_om_for(config.flags, "acme") and not genesys_om_for(config.flags, "beta")


def test_config_text_helper_is_valid_toml() -> None:
    import tomllib

    assert tomllib.loads(config_text())["endpoints"][0]["urlToken"] == "support-bot"
    assert json.dumps(ECHO_FLOW)


Change = Callable[[dict[str, Any]], None]


def _walk(raw: dict[str, Any], dotted: str) -> tuple[Any, str | int]:
    """The container holding the last part of a dotted path (digits index arrays), created on the way."""
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    node: Any = raw
    for part in parts[:-1]:
        node = node[part] if isinstance(part, int) else node.setdefault(part, {})
    return node, parts[-1]


def at(dotted: str, value: Any) -> Change:
    def change(raw: dict[str, Any]) -> None:
        node, last = _walk(raw, dotted)
        node[last] = value

    return change


def drop(dotted: str) -> Change:
    def change(raw: dict[str, Any]) -> None:
        node, last = _walk(raw, dotted)
        del node[last]

    return change


def parse_errors(write_config: Callable[..., Path], manifest: Manifest, change: Change,
                 env: dict[str, str] | None = None) -> list[str]:
    """The errors of the valid test config after one change to its parsed TOML."""
    path = write_config()
    raw = tomllib.loads(path.read_text())
    change(raw)
    with pytest.raises(ConfigError) as info:
        parse_config(raw, path, manifest, env=env or {})
    return info.value.errors


BAD_HOST_SECRET = "hunter2-in-the-host"
COPILOT_SECRET = "tiny-copilot-key"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # ${...} names
        (at("connections.support.clientId", "${1BAD}"), f"connections.support.clientId: {MALFORMED}"),
        (at("connections.support.clientId", "${}"), f"connections.support.clientId: {MALFORMED}"),
        (at("endpoints.0.organisation", "a-${B-C}"), f"endpoints[0].organisation: {MALFORMED}"),
        # sections that are not tables
        (at("server", 5), "server: must be a table"),
        (at("store", "memory://"), "store: must be a table"),
        (at("handover", [1]), "handover: must be a table"),
        (at("connections", "support"), "connections: must be a table of named connections"),
        (at("connections.support", 5), "connections.support: must be a table"),
        (drop("connections.support.type"), "connections.support.type: unknown connection type None"),
        # endpoints
        (at("endpoints", "support-bot"), "endpoints: must be an array of tables ([[endpoints]])"),
        (at("endpoints", {"urlToken": "support-bot"}), "endpoints: must be an array of tables ([[endpoints]])"),
        (at("endpoints", []), "endpoints: at least one [[endpoints]] table is needed"),
        (at("endpoints", [5]), "endpoints[0]: must be a table"),
        (drop("endpoints.0.flow"), "endpoints[0].flow: Missing data for required field."),
        (drop("endpoints.0.urlToken"), "endpoints[0].urlToken: Missing data for required field."),
        (at("endpoints.0.copilotUrl", "ftp://copilot.example.com"),
         "endpoints[0].copilotUrl: Not a valid http(s) URL."),
        (at("endpoints.0.copilotUrl", "https://copilot.example.com"),
         "endpoints[0].copilotUrl: needs server.copilot_secret"),
        # server
        (at("server.host", ""), "server.host: Shorter than minimum length 1."),
        (at("server.port", -1), "server.port: Must be greater than or equal to 0"),
        (at("server.copilot_secret", COPILOT_SECRET),
         "server.copilot_secret: Too short: 16 characters, at least 32 are needed."),
        (at("server.copilot_secret", 5), "server.copilot_secret: Not a valid string."),
        # store
        (at("store.url", "sqlite:///"), "store.url: sqlite:/// needs a file path"),
        (at("store.url", 5), "store.url: Not a valid string."),
        (at("store.session_idle_seconds", -1), "store.session_idle_seconds: Must be greater than or equal to 0 and"),
        (at("store.session_idle_seconds", 86400 * 367), "store.session_idle_seconds: Must be greater than or equal"),
        (at("store.session_idle_seconds", "a day"), "store.session_idle_seconds: Not a valid number."),
        (at("store.session_idle_seconds", math.nan), "store.session_idle_seconds: Special numeric values"),
        (at("store.colour", "red"), "store.colour: unknown key (known: session_idle_seconds, url)"),
        (at("handover.colour", "red"), "handover.colour: unknown key (known: acw_timeout_seconds,"),
        # a Genesys host that `serve` could not resolve
        (at("connections.support.host", "genesys.example.com"),
         "connections.support.host: Genesys host 'genesys.example.com' is not a Genesys Cloud domain"),
        (at("connections.support.host", "ftp://127.0.0.1:9100"),
         "connections.support.host: Genesys host 'ftp://127.0.0.1:9100': only http and https URLs are supported"),
        (at("connections.support.host", "http://127.0.0.1:99999"),
         "connections.support.host: Genesys host 'http://127.0.0.1:99999' is not a valid URL"),
        (at("connections.support.host", "api.mypurecloud.de.evil.io"),
         "connections.support.host: Genesys host 'api.mypurecloud.de.evil.io' is not a Genesys Cloud domain"),
        (at("connections.support.host", "my.pure.cloud.de"),
         "connections.support.host: Genesys host 'my.pure.cloud.de' is not a Genesys Cloud domain"),
        (at("connections.support.host", "login.eu.mypurecloud.de"),
         "connections.support.host: Genesys host 'login.eu.mypurecloud.de' is not a Genesys Cloud region domain"),
        (at("connections.support.host", "mypurecloud.dee"),
         "connections.support.host: Genesys host 'mypurecloud.dee' is not a Genesys Cloud region domain "
         "(did you mean 'mypurecloud.de'?)"),
        (at("connections.support.host", "https://api.usw3.pure.cloud"),
         "connections.support.host: Genesys host 'https://api.usw3.pure.cloud' is not a Genesys Cloud region "
         "domain (did you mean 'usw2.pure.cloud'?)"),
        (at("connections.support.host", "mypurecloud .de"),
         "connections.support.host: Genesys host 'mypurecloud .de' contains spaces"),
        (at("connections.support.host", f"https://me:{BAD_HOST_SECRET}@mypurecloud.de"),
         "connections.support.host: Genesys host 'mypurecloud.de': credentials do not belong in the URL"),
    ],
)
def test_every_config_error_names_its_toml_path(
    write_config: Callable[..., Path], manifest: Manifest, change: Change, expected: str
) -> None:
    errors = parse_errors(write_config, manifest, change)
    assert any(e.startswith(expected) for e in errors), errors
    shown = "\n".join(errors)
    for secret in (SECRET, CLIENT_SECRET, BAD_HOST_SECRET, COPILOT_SECRET):
        assert secret not in shown


def test_a_bad_host_fails_once_and_not_again_as_a_missing_connection(
    write_config: Callable[..., Path], manifest: Manifest
) -> None:
    errors = parse_errors(write_config, manifest, at("connections.support.host", "genesys.example.com"))
    assert len(errors) == 1 and errors[0].startswith("connections.support.host: "), errors


@pytest.mark.parametrize("host", ["mypurecloud.de", "https://api.mypurecloud.com/", "usw2.pure.cloud",
                                  "edee1.eusc-pure.cloud", "http://127.0.0.1:9100", "http://localhost:9100",
                                  "http://[::1]:9100", "https://proxy.internal/genesys"])
def test_hosts_serve_can_resolve_are_valid(
    write_config: Callable[..., Path], manifest: Manifest, host: str
) -> None:
    path = write_config()
    raw = tomllib.loads(path.read_text())
    raw["connections"]["support"]["host"] = host
    assert parse_config(raw, path, manifest, env={}).connections["support"]["host"] == host


INT_KEYS = {"retry_attempts": (1, 20), "reconcile_batch": (1, 1000), "transcript_max_messages": (1, 100),
            "transcript_max_chars": (100, 100000), "session_messages_per_minute": (1, 10000),
            "connection_messages_per_minute": (1, 100000), "attachment_max_bytes": (1, 1024 ** 3)}
FLOAT_KEYS = {key: (0, 172800) for key in (
    "retry_total_seconds", "request_timeout_seconds", "acw_timeout_seconds", "reconcile_interval_seconds",
    "reconcile_idle_seconds", "heartbeat_timeout_seconds", "channel_renew_seconds", "reconnect_max_seconds",
    "delivery_notice_seconds", "outbox_retry_max_seconds")} | {
    "lease_seconds": (0.1, 3600), "webhook_wait_seconds": (0, 9), "reconcile_unwatched_interval_seconds": (0.1, 172800),
    "agent_check_seconds": (0.05, 600), "attachment_link_seconds": (1, 7 * 86400)}
HANDOVER_CASES = (
    [(key, low - 1, "Must be greater than or equal to") for key, (low, _) in INT_KEYS.items()]
    + [(key, high + 1, "Must be greater than or equal to") for key, (_, high) in INT_KEYS.items()]
    + [(key, "3", "Not a valid integer.") for key in INT_KEYS]
    + [(key, 2.5, "Not a valid integer.") for key in INT_KEYS]
    + [(key, low - 0.05, "Must be greater than or equal to") for key, (low, _) in FLOAT_KEYS.items()]
    + [(key, high + 1, "Must be greater than or equal to") for key, (_, high) in FLOAT_KEYS.items()]
    + [(key, "soon", "Not a valid number.") for key in FLOAT_KEYS]
    + [(key, math.inf, "Special numeric values") for key in FLOAT_KEYS]
)


def test_every_handover_key_is_covered() -> None:
    assert set(HandoverSchema().fields) == set(INT_KEYS) | set(FLOAT_KEYS) | {"wait_estimate_seconds", "end_topics"}


@pytest.mark.parametrize("value", ["queue", "conversation", None])
def test_end_topics_are_per_conversation_unless_queue_is_chosen(
        write_config: Callable[..., Path], manifest: Manifest, value: str | None) -> None:
    path = write_config(extra=f'[handover]\nend_topics = "{value}"\n' if value else "")
    settings = load_config(path, manifest, env={}).settings_for("genesysCloudOM", HandoverSettings)
    assert settings.end_topics == (value or "conversation")


@pytest.mark.parametrize("value", ["queues", "", 3])
def test_end_topics_of_another_kind_are_refused(
        write_config: Callable[..., Path], manifest: Manifest, value: Any) -> None:
    errors = parse_errors(write_config, manifest, at("handover.end_topics", value))
    assert len(errors) == 1 and errors[0].startswith("handover.end_topics: "), errors
    if isinstance(value, str):
        assert "conversation, queue" in errors[0], errors


@pytest.mark.parametrize(("value", "accepted"), [(0, True), (30, True), (3600, True), (29.9, False), (10, False),
                                                 (-1, False), (3601, False)])
def test_the_wait_estimate_is_off_or_at_least_30_seconds_apart(
        write_config: Callable[..., Path], manifest: Manifest, value: float, accepted: bool) -> None:
    path = write_config(extra=f"[handover]\nwait_estimate_seconds = {value}\n")
    if accepted:
        settings = load_config(path, manifest, env={}).settings_for("genesysCloudOM", HandoverSettings)
        assert settings.wait_estimate_seconds == value
    else:
        errors = parse_errors(write_config, manifest, at("handover.wait_estimate_seconds", value))
        assert errors == ["handover.wait_estimate_seconds: Must be 0 (off) or between 30 and 3600."]


@pytest.mark.parametrize(("key", "value", "expected"), HANDOVER_CASES)
def test_handover_range_and_type_errors_name_the_key(
    write_config: Callable[..., Path], manifest: Manifest, key: str, value: Any, expected: str
) -> None:
    errors = parse_errors(write_config, manifest, at(f"handover.{key}", value))
    assert any(e.startswith(f"handover.{key}: {expected}") for e in errors), errors


def test_handover_values_in_range_are_used(write_config: Callable[..., Path], manifest: Manifest) -> None:
    path = write_config(extra="[handover]\nretry_attempts = 20\nreconcile_batch = 1\nlease_seconds = 0.1\n"
                              "retry_total_seconds = 0\nchannel_renew_seconds = 172800\n")
    settings = load_config(path, manifest, env={}).settings_for("genesysCloudOM", HandoverSettings)
    assert (settings.retry_attempts, settings.reconcile_batch, settings.lease_seconds) == (20, 1, 0.1)
    assert (settings.retry_total_seconds, settings.channel_renew_seconds) == (0, 172800)


@pytest.mark.parametrize(("value", "seconds"), [("2500", 2.5), (None, 10.0), ("", 10.0), ("0", 0.0)])
def test_acw_timeout_from_the_environment(make_config: Callable[..., Config], value: str | None,
                                          seconds: float) -> None:
    env = {} if value is None else {ACW_TIMEOUT_ENV: value}
    assert make_config(env=env).settings_for("genesysCloudOM", HandoverSettings).acw_timeout_seconds == seconds


@pytest.mark.parametrize(("value", "expected"), [
    ("x", f"environment: {ACW_TIMEOUT_ENV} must be a whole number of milliseconds"),
    ("2.5", f"environment: {ACW_TIMEOUT_ENV} must be a whole number of milliseconds"),
    ("-1", f"environment: {ACW_TIMEOUT_ENV} must not be negative"),
])
def test_a_bad_acw_timeout_names_the_variable(write_config: Callable[..., Path], manifest: Manifest,
                                              value: str, expected: str) -> None:
    errors = errors_of(write_config(), manifest, env={ACW_TIMEOUT_ENV: value})
    assert any(e.startswith(expected) for e in errors), errors


REDIS_PASSWORD = "hunter2-redis-password"


@pytest.mark.parametrize(("url", "shown"), [
    (f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
    (f"rediss://app:{REDIS_PASSWORD}@cache.internal:6380/2?prefix=bot", "rediss://app:***@cache.internal:6380/2"),
    (f"redis://{REDIS_PASSWORD}@127.0.0.1:6379/0", "redis://***@127.0.0.1:6379/0"),
])
def test_store_password_is_masked_in_repr_and_str(make_config: Callable[..., Config], url: str, shown: str) -> None:
    config = make_config(store=url)
    assert config.store_url == url  # the store factory gets the clear URL
    for text in (repr(config), str(config), f"{config}", f"{config!r}"):
        assert REDIS_PASSWORD not in text
        assert shown in text


@pytest.mark.parametrize(("url", "expected"), [
    (f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/x", "store.url: the Redis database must be a number"),
    (f"redis://:{REDIS_PASSWORD}@127.0.0.1:99999/0", "store.url: the Redis URL has a bad port"),
    (f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0?pool=3", "store.url: unknown Redis store option(s) pool"),
    (f"redis://:{REDIS_PASSWORD}@/0", "store.url: the Redis URL needs a host"),
])
def test_store_password_is_never_in_an_error(write_config: Callable[..., Path], manifest: Manifest,
                                             url: str, expected: str) -> None:
    errors = errors_of(write_config(store=url), manifest)
    assert any(e.startswith(expected) for e in errors), errors
    assert REDIS_PASSWORD not in "\n".join(errors)


@pytest.mark.parametrize(("url", "masked"), [
    ("memory://", "memory://"),
    ("sqlite:///data/x.db", "sqlite:///data/x.db"),
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ("redis://:pw@h:1/0", "redis://:***@h:1/0"),
    ("redis://user:p@ss:w@rd@h/0", "redis://user:***@h/0"),
])
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_end_handover_api_key_has_no_minimum_length(
    write_config: Callable[..., Path], manifest: Manifest
) -> None:
    path = write_config(extra="")
    path.write_text(path.read_text().replace('clientId = "client-1"', 'clientId = "client-1"\nendHandoverApiKey = "k"'))
    key = load_config(path, manifest, env={}).connections["support"]["endHandoverApiKey"]
    assert isinstance(key, Secret) and key.reveal() == "k"


def test_the_upload_settings_have_defaults_and_bounds(write_config: Callable[..., Path], manifest: Manifest) -> None:
    path = write_config()
    server = parse_config(tomllib.loads(path.read_text()), path, manifest, env={}).server
    assert (server.max_upload_bytes, server.upload_link_seconds) == (10 * 1024 * 1024, 86400.0)
    for key, value in (("max_upload_bytes", 0), ("max_upload_bytes", 2.5), ("upload_link_seconds", 0),
                       ("upload_link_seconds", 8 * 86400)):
        errors = parse_errors(write_config, manifest, at(f"server.{key}", value))
        assert len(errors) == 1 and errors[0].startswith(f"server.{key}: "), errors
    errors = parse_errors(write_config, manifest, at("endpoints.0.urlToken", "attachments"))
    assert errors == ["endpoints[0].urlToken: Reserved for the runtime's own routes."]
