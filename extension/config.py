"""The runtime configuration: one TOML file, `${ENV}` interpolation, validated before binding."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from .endpoint_settings import WEBCHAT, FlowNode
from .flags import FeatureFlags
from .flows.flow import Flow, load_flow
from .interpolation import interpolate, without_field_errors
from .manifest import EndpointType, Manifest
from .provider_settings import RUNTIME_SECTIONS, ProviderSettings
from .schemas import SecretField, SecretLength, StrictBoolean
from .secrets import MASK, Secret
from .store import check_store_url
from .validation import DeclarationError, flatten_errors, unknown_keys

ConfigError = DeclarationError
T = TypeVar("T")

# URL tokens that would shadow the runtime's own routes.
SESSION_ACCESS_MODES = ("token", "apiKey", "open")
# The settings of an endpoint's user routes (docs/CONTRACT.md 5), which only a webchat endpoint has.
USER_ROUTE_KEYS = ("handover", "copilotUrl", "sessionAccess", "apiKey")
RESERVED_TOKENS = frozenset({"healthz", "readyz", "metrics", "webchat", "handover", "copilot", "emulator",
                             "attachments"})
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# Genesys Cloud fetches an uploaded file from its link (docs/GENESYS_NOTES.md 10): a day covers it.
UPLOAD_LINK_SECONDS = 86400.0
HANDOVER_NODE_TYPES = frozenset({"handoverToAgent", "closeHandover"})
_HTTP_URL = validate.URL(schemes={"http", "https"}, require_tld=False, error="Not a valid http(s) URL.")
# The user-info part of a URL (`scheme://user:password@`), which may hold a password.
# Greedy up to the last `@` of the authority, as urlsplit reads it (a password may hold `@`).
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)@")


def mask_url(url: str) -> str:
    """The URL with any password in it replaced by `***` (`redis://:***@host:6379/0`)."""

    def masked(m: re.Match[str]) -> str:
        user, colon, _ = m.group(2).partition(":")
        # A lone user-info (`redis://TOKEN@host`) may itself be the credential: hide it whole.
        return f"{m.group(1)}{user}:{MASK}@" if colon else f"{m.group(1)}{MASK}@"

    return _USERINFO.sub(masked, url, count=1)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class ServerSchema(_Strict):
    host = fields.String(load_default="127.0.0.1", validate=validate.Length(min=1))
    port = fields.Integer(load_default=8080, strict=True, validate=validate.Range(min=0, max=65535))
    public_url = fields.String(load_default=None, validate=_HTTP_URL)
    # HS256 keys shorter than the hash (32 bytes) are weak (RFC 7518 section 3.2).
    copilot_secret = SecretField(load_default=None, validate=SecretLength(32, None))
    # The key of the session tokens (docs/CONTRACT.md 5.1); without it one is generated and kept in the store.
    session_secret = SecretField(load_default=None, validate=SecretLength(32, None))
    # Slow or unfinished requests: a connection must send its headers (and be idle between
    # requests) within header_timeout_seconds, a body within body_timeout_seconds; at most
    # max_pending_requests bodies may be arriving at once.
    header_timeout_seconds = fields.Float(load_default=15.0, allow_nan=False,
                                          validate=validate.Range(min=0.1, max=3600))
    body_timeout_seconds = fields.Float(load_default=30.0, allow_nan=False,
                                        validate=validate.Range(min=0.1, max=3600))
    max_pending_requests = fields.Integer(load_default=256, strict=True, validate=validate.Range(min=1, max=100000))
    # What one user message may carry.
    max_text_chars = fields.Integer(load_default=10000, strict=True, validate=validate.Range(min=1, max=1000000))
    max_data_bytes = fields.Integer(load_default=16384, strict=True, validate=validate.Range(min=2, max=1048576))
    # A file the user uploads (POST /{urlToken}/attachments), and how long its link serves it.
    max_upload_bytes = fields.Integer(load_default=MAX_UPLOAD_BYTES, strict=True,
                                      validate=validate.Range(min=1, max=100 * 1024 * 1024))
    upload_link_seconds = fields.Float(load_default=UPLOAD_LINK_SECONDS, allow_nan=False,
                                       validate=validate.Range(min=1, max=7 * 86400))
    # The demo web chat pages; production deployments that use only the APIs turn them off.
    webchat = StrictBoolean(load_default=True)
    # One line per request (credentials redacted); off by default, as it is on the webhook's hot path.
    access_log = StrictBoolean(load_default=False)


# A day without a message from either side ends a session (0 keeps sessions for ever).
SESSION_IDLE_SECONDS = 86400.0


class StoreSchema(_Strict):
    url = fields.String(load_default="sqlite:///genesys-om.db")
    session_idle_seconds = fields.Float(load_default=SESSION_IDLE_SECONDS, allow_nan=False,
                                        validate=validate.Range(min=0, max=86400 * 366))


class EndpointSchema(_Strict):
    urlToken = fields.String(
        required=True,
        validate=[
            validate.Regexp(r"^[A-Za-z0-9_-]{1,128}$", error="Use 1 to 128 letters, digits, '-' or '_'."),
            validate.NoneOf(sorted(RESERVED_TOKENS), error="Reserved for the runtime's own routes."),
        ],
    )
    organisation = fields.String(load_default="")
    # What talks to the endpoint's flow: the user routes and web chat (`webchat`), or a type the
    # manifest declares (`endpointTypes`), checked against it by the loader.
    type = fields.String(load_default=WEBCHAT, validate=validate.Length(min=1))
    flow = fields.String(required=True, validate=validate.Length(min=1))
    handover = fields.String(load_default=None)
    copilotUrl = fields.String(load_default=None, validate=_HTTP_URL)
    sessionAccess = fields.String(load_default="token", validate=validate.OneOf(SESSION_ACCESS_MODES))
    apiKey = SecretField(load_default=None, validate=SecretLength(1, None))


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    copilot_secret: Secret | None = None
    session_secret: Secret | None = None
    header_timeout_seconds: float = 15.0
    body_timeout_seconds: float = 30.0
    max_pending_requests: int = 256
    max_text_chars: int = 10000
    max_data_bytes: int = 16384
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    upload_link_seconds: float = UPLOAD_LINK_SECONDS
    webchat: bool = True
    access_log: bool = False


@dataclass(frozen=True)
class ConnectionConfig:
    """A named connection instance; secret values are `Secret`s."""

    name: str
    type: str
    values: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


@dataclass(frozen=True)
class EndpointConfig:
    url_token: str
    organisation: str
    flow_path: Path
    handover: str | None = None
    copilot_url: str | None = None
    session_access: str = "token"
    api_key: Secret | None = field(default=None, repr=False)
    type: str = WEBCHAT
    # What the endpoint type's `build` made of its table (`[endpoints.botConnector]`); None for webchat.
    type_settings: object | None = None


@dataclass(frozen=True)
class Config:
    """Everything `serve` needs, validated."""

    source: Path
    server: ServerConfig
    # The clear URL is for the store factory only; reprs show `store`, with any password masked.
    store_url: str = field(repr=False)
    connections: Mapping[str, ConnectionConfig]
    endpoints: tuple[EndpointConfig, ...]
    flows: Mapping[str, Flow]
    flags: FeatureFlags = field(default_factory=FeatureFlags)
    # What each provider's settings built from its section (provider_settings.py), by connection type.
    provider_settings: Mapping[str, object] = field(default_factory=dict)
    session_idle_seconds: float = SESSION_IDLE_SECONDS
    # What `validate` points out without refusing the file.
    warnings: tuple[str, ...] = ()
    store: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "store", mask_url(self.store_url))

    @property
    def base_dir(self) -> Path:
        return self.source.parent

    def settings_for(self, connection_type: str, kind: type[T]) -> T:
        """The settings of the provider of this connection type; `kind()` (its defaults) when it has none."""
        found = self.provider_settings.get(connection_type)
        if found is None:
            return kind()
        if not isinstance(found, kind):
            raise TypeError(f"the settings of {connection_type} are a {type(found).__name__}, not {kind.__name__}")
        return found


def _load_section(schema: Schema, raw: Any, path: str, errors: list[str]) -> dict[str, Any] | None:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        errors.append(f"{path}: must be a table")
        return None
    known = {f.data_key or name for name, f in schema.fields.items() if not f.dump_only}
    misspelt, meant = unknown_keys(raw, known, path)
    errors.extend(misspelt)
    try:
        loaded = dict(schema.load({k: v for k, v in raw.items() if k in known}))
    except ValidationError as exc:
        # The key meant is "missing" only because it was misspelt: the suggestion says it all.
        errors.extend(line for line in flatten_errors(exc.messages, path)
                      if not any(line == f"{path}.{key}: Missing data for required field." for key in meant))
        return None
    return None if misspelt else loaded


def _connections(raw: Any, manifest: Manifest, errors: list[str]) -> dict[str, ConnectionConfig]:
    out: dict[str, ConnectionConfig] = {}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        errors.append("connections: must be a table of named connections")
        return out
    for name, body in raw.items():
        path = f"connections.{name}"
        if not isinstance(body, dict):
            errors.append(f"{path}: must be a table")
            continue
        ctype = body.get("type")
        conn_type = manifest.connections.get(ctype) if isinstance(ctype, str) else None
        if conn_type is None:
            known = ", ".join(sorted(manifest.connections))
            errors.append(f"{path}.type: unknown connection type {ctype!r} (known: {known})")
            continue
        values = {k: v for k, v in body.items() if k != "type"}
        loaded = _load_section(conn_type.schema(), values, path, errors)
        if loaded is None:
            continue
        provider = manifest.provider_of(conn_type.type)
        problems = provider.settings.check_connection(loaded) if provider and provider.settings else {}
        if problems:
            errors.extend(f"{path}.{key}: {problem}" for key, problem in problems.items())
            continue
        out[name] = ConnectionConfig(name, conn_type.type, loaded)
    return out


def parse_config(raw: dict[str, Any], source: Path, manifest: Manifest,
                 env: Mapping[str, str] | None = None) -> Config:
    """Validate a parsed TOML document; raises ConfigError listing every problem by TOML path."""
    env = os.environ if env is None else env
    errors: list[str] = []
    unreadable: dict[str, str] = {}
    raw = interpolate(raw, env, "", unreadable)
    seams = _provider_settings(manifest)
    errors.extend(_unknown_sections(raw, [*RUNTIME_SECTIONS, *(s.section for s in seams.values())]))
    server = _load_section(ServerSchema(), raw.get("server"), "server", errors)
    store = _load_section(StoreSchema(), raw.get("store"), "store", errors)
    if store is not None and (problem := check_store_url(store["url"])):
        errors.append(f"store.url: {problem}")
    connections = _connections(raw.get("connections"), manifest, errors)
    provider_settings = _build_provider_settings(seams, raw, env, errors)
    endpoints: list[EndpointConfig] = []
    flows: dict[str, Flow] = {}
    raw_endpoints = raw.get("endpoints", [])
    if not isinstance(raw_endpoints, list):
        errors.append("endpoints: must be an array of tables ([[endpoints]])")
        raw_endpoints = []
    elif not raw_endpoints:
        errors.append("endpoints: at least one [[endpoints]] table is needed")
    for i, body in enumerate(raw_endpoints):
        path = f"endpoints[{i}]"
        body, tables = _type_tables(body, manifest)
        ep = _load_section(EndpointSchema(), body, path, errors)
        if ep is None:
            continue
        endpoint_type = manifest.endpoint_types.get(ep["type"])
        if ep["type"] != WEBCHAT and endpoint_type is None:
            errors.append(f"{path}.type: Must be one of: {', '.join([WEBCHAT, *manifest.endpoint_types])}.")
            continue
        type_values = _type_table(endpoint_type, tables, body, path, errors)
        if ep["urlToken"] in flows or any(e.url_token == ep["urlToken"] for e in endpoints):
            errors.append(f"{path}.urlToken: {ep['urlToken']!r} is used by another endpoint")
        if ep["handover"] is not None and ep["handover"] not in connections:
            if not any(line.startswith(f"connections.{ep['handover']}") for line in errors):
                errors.append(f"{path}.handover: no connection named {ep['handover']!r}")
        if ep["copilotUrl"] is not None and server is not None and server.get("copilot_secret") is None:
            errors.append(f"{path}.copilotUrl: needs server.copilot_secret (32 characters or more) to sign the "
                          "Copilot links")
        errors.extend(_access_errors(ep, path))
        flow_path = Path(ep["flow"])
        if not flow_path.is_absolute():
            flow_path = source.parent / flow_path
        try:
            flow = load_flow(flow_path, manifest, source=ep["flow"])
        except DeclarationError as exc:
            errors.extend(f"{path}.flow: {line}" for line in exc.errors)
            continue
        uses_handover = [n.id for n in flow.nodes if n.type in HANDOVER_NODE_TYPES]
        # An endpoint of a declared type is its own handover provider's (its handover nodes go there).
        if uses_handover and ep["handover"] is None and endpoint_type is None:
            errors.append(
                f"{path}.handover: flow {ep['flow']} has handover node(s) {', '.join(uses_handover)} "
                "but the endpoint names no connection"
            )
        errors.extend(_node_type_errors(flow, ep["type"], manifest, path))
        if endpoint_type is None:
            errors.extend(_queue_errors(flow, ep["handover"], path))
        built = None
        if endpoint_type is not None and type_values is not None:
            nodes = [FlowNode(n.id, n.type, n.config) for n in flow.nodes]
            problems = endpoint_type.settings.check(type_values, nodes)
            errors.extend(f"{path}.{line}" for line in problems)
            built = endpoint_type.settings.build(type_values) if not problems else None
        endpoint = EndpointConfig(ep["urlToken"], ep["organisation"], flow_path, ep["handover"], ep["copilotUrl"],
                                  ep["sessionAccess"], ep["apiKey"], ep["type"], built)
        endpoints.append(endpoint)
        flows[endpoint.url_token] = flow
    if unreadable or errors or server is None or store is None:
        # One error per field: what made a value unreadable, not what the empty value then fails;
        # for a key that does not belong there, that it does not.
        unread = {path: line for path, line in unreadable.items()
                  if not any(e.startswith(f"{path}: unknown ") for e in errors)}
        raise ConfigError([*unread.values(), *without_field_errors(errors, unread)])
    return Config(
        source=source, server=ServerConfig(**server), store_url=store["url"],
        connections=connections, endpoints=tuple(endpoints), flows=flows,
        flags=FeatureFlags.from_env(env), provider_settings=provider_settings,
        session_idle_seconds=store["session_idle_seconds"],
        warnings=tuple(_warnings(seams, connections, server["public_url"])),
    )


def _provider_settings(manifest: Manifest) -> dict[str, ProviderSettings]:
    """The config seams of the declared providers, by the connection type each serves."""
    return {p.connection_type: p.settings for p in manifest.providers.values() if p.settings is not None}


def _build_provider_settings(seams: Mapping[str, ProviderSettings], raw: Mapping[str, Any], env: Mapping[str, str],
                             errors: list[str]) -> dict[str, object]:
    """Each provider's section (absent is empty), validated by its schema, then built with the environment."""
    built: dict[str, object] = {}
    for connection_type, seam in seams.items():
        values = _load_section(seam.schema(), raw.get(seam.section), seam.section, errors) or {}
        try:
            built[connection_type] = seam.build(values, env)
        except ValueError as exc:
            errors.append(f"environment: {exc}")
    return built


def _warnings(seams: Mapping[str, ProviderSettings], connections: Mapping[str, ConnectionConfig],
              public_url: str | None) -> list[str]:
    return [line for connection_type, seam in seams.items()
            for line in seam.warnings(sorted(n for n, c in connections.items() if c.type == connection_type),
                                      public_url)]


def _type_tables(body: Any, manifest: Manifest) -> tuple[Any, dict[str, Any]]:
    """The endpoint body without the tables endpoint types own, and those tables by name."""
    if not isinstance(body, dict):
        return body, {}
    owned = {t.settings.table for t in manifest.endpoint_types.values()}
    return ({k: v for k, v in body.items() if k not in owned},
            {k: v for k, v in body.items() if k in owned})


def _type_table(endpoint_type: EndpointType | None, tables: Mapping[str, Any], body: Mapping[str, Any],
                path: str, errors: list[str]) -> dict[str, Any] | None:
    """The loaded table of the endpoint's type; errors for a table of another type and user route keys."""
    name = WEBCHAT if endpoint_type is None else endpoint_type.type
    for table in tables:
        if endpoint_type is None or table != endpoint_type.settings.table:
            errors.append(f"{path}.{table}: only used on an endpoint of the type that owns it, not type = {name!r}")
    if endpoint_type is None:
        return None
    for key in USER_ROUTE_KEYS:
        if key in body:
            errors.append(f"{path}.{key}: not used with type = {name!r} (an endpoint of that type has no user "
                          "routes, docs/CONTRACT.md 5)")
    table = endpoint_type.settings.table
    if table not in tables:
        errors.append(f"{path}.{table}: required with type = {name!r}")
        return None
    return _load_section(endpoint_type.settings.schema(), tables[table], f"{path}.{table}", errors)


def _node_type_errors(flow: Flow, endpoint_type: str, manifest: Manifest, path: str) -> list[str]:
    """Nodes that only run on an endpoint of another type."""
    errors = []
    for declared in manifest.endpoint_types.values():
        if declared.type == endpoint_type:
            continue
        for node in flow.nodes:
            if node.type in declared.settings.node_types:
                errors.append(f"{path}.flow: node {node.id!r} ({node.type}) only runs on an endpoint of type "
                              f"{declared.type!r}")
    return errors


def _queue_errors(flow: Flow, connection: str | None, path: str) -> list[str]:
    """A handoverToAgent `queue` on a webchat endpoint: its handovers go to the connection's queue."""
    routes_by = f"the connection's queue (connections.{connection}.queue)" if connection else "the connection's queue"
    return [f"{path}.flow: node {node.id!r} ({node.type}) sets queue, which only an endpoint of type "
            f"'genesysBotConnector' uses; on this endpoint {routes_by} routes its handovers"
            for node in flow.nodes
            if node.type == "handoverToAgent" and node.config.get("queue") not in (None, "")]


def _unknown_sections(raw: Mapping[str, Any], known: list[str]) -> list[str]:
    misspelt, _ = unknown_keys(raw, known, "")
    return [line.replace(": unknown key", ": unknown section", 1) for line in misspelt]


def config_warnings(config: Config) -> list[str]:
    """What `validate` points out without refusing the file."""
    return list(config.warnings)


def _access_errors(ep: Mapping[str, Any], path: str) -> list[str]:
    """An API key exactly when the endpoint's sessions are reached with one."""
    if ep["sessionAccess"] == "apiKey" and ep["apiKey"] is None:
        return [f'{path}.apiKey: required with sessionAccess = "apiKey"']
    if ep["sessionAccess"] != "apiKey" and ep["apiKey"] is not None:
        return [f'{path}.apiKey: only used with sessionAccess = "apiKey" (this endpoint has '
                f'{ep["sessionAccess"]!r})']
    return []


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed file; ConfigError saying why when it is missing, unreadable or not TOML."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError([f"{path}: config file not found"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.__class__.__name__})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc})"]) from None


def load_config(path: Path, manifest: Manifest, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a TOML config file."""
    return parse_config(read_toml(path), path.resolve(), manifest, env)
