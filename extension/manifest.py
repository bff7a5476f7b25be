"""Load and validate manifest.json and every node and connection descriptor it names."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from .declarations import declarations_root
from .endpoint_settings import WEBCHAT, EndpointSettings
from .provider_settings import RUNTIME_SECTIONS, ProviderSettings
from .schemas import FIELD_TYPES, FieldSpec, build_schema
from .validation import DeclarationError, flatten_errors

SchemaClass = type[Schema]

_IDENT = validate.Regexp(r"^[A-Za-z][A-Za-z0-9_]*$", error="Must be an identifier.")
_FILE = validate.Regexp(r"^[A-Za-z0-9_.-]+\.json$", error="Must be a plain .json file name.")
_FUNCTION = validate.Regexp(
    r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", error="Must be a dotted path 'package.module:callable'."
)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class ParamsSchema(_Strict):
    required = fields.Boolean()
    options = fields.List(fields.Raw())
    min = fields.Float()
    max = fields.Float()
    minLength = fields.Integer(validate=validate.Range(min=0))
    maxLength = fields.Integer(validate=validate.Range(min=0))
    pattern = fields.String()
    ref = fields.String(validate=validate.OneOf(["node"]))
    shape = fields.String(validate=validate.OneOf(["object", "array"]))
    values = fields.String(validate=validate.OneOf(["string", "nodeRef"]))


class ConditionSchema(_Strict):
    key = fields.String(required=True)
    value = fields.Raw(required=True, allow_none=True)


class FieldDescriptorSchema(_Strict):
    key = fields.String(required=True, validate=_IDENT)
    type = fields.String(required=True, validate=validate.OneOf(FIELD_TYPES))
    label = fields.String(required=True, validate=validate.Length(min=1))
    description = fields.String()
    default = fields.Raw(allow_none=True)
    params = fields.Nested(ParamsSchema)
    condition = fields.Nested(ConditionSchema)


class NodeDescriptorSchema(_Strict):
    type = fields.String(required=True, validate=_IDENT)
    label = fields.String(required=True, validate=validate.Length(min=1))
    summary = fields.String(required=True, validate=validate.Length(min=1))
    function = fields.String(required=True, validate=_FUNCTION)
    fields_ = fields.List(fields.Nested(FieldDescriptorSchema), required=True, data_key="fields")


class ConnectionDescriptorSchema(_Strict):
    type = fields.String(required=True, validate=_IDENT)
    label = fields.String(required=True, validate=validate.Length(min=1))
    fields_ = fields.List(fields.Nested(FieldDescriptorSchema), required=True, data_key="fields")


class ProviderSchema(_Strict):
    type = fields.String(required=True, validate=_IDENT)
    label = fields.String(required=True)
    connectionType = fields.String(required=True)
    webhookPath = fields.String(required=True, validate=validate.Regexp(r"^/[A-Za-z0-9/_-]+$"))
    # `package.module:callable` that installs the provider in the runtime (extension.providers).
    factory = fields.String(load_default=None, validate=_FUNCTION)
    # `package.module:NAME` of its ProviderSettings: the config section it owns and its checks.
    settings = fields.String(load_default=None, validate=_FUNCTION)


class EndpointTypeSchema(_Strict):
    type = fields.String(required=True, validate=[_IDENT, validate.NoneOf([WEBCHAT], error="Built in.")])
    label = fields.String(required=True)
    # `package.module:callable` that installs the endpoint type's routes in the runtime.
    factory = fields.String(required=True, validate=_FUNCTION)
    # `package.module:NAME` of its EndpointSettings: the endpoint table it owns and its checks.
    settings = fields.String(required=True, validate=_FUNCTION)


class ManifestSchema(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1))
    label = fields.String(required=True, validate=validate.Length(min=1))
    version = fields.String(required=True, validate=validate.Regexp(r"^\d+\.\d+\.\d+"))
    description = fields.String()
    connections = fields.List(fields.String(validate=_FILE), required=True)
    nodes = fields.List(fields.String(validate=_FILE), required=True)
    handoverProviders = fields.List(fields.Nested(ProviderSchema), required=True)
    endpointTypes = fields.List(fields.Nested(EndpointTypeSchema), load_default=list)


NodeFunction = Callable[..., Any]


@dataclass(frozen=True)
class NodeType:
    """A node type: its declared fields, generated schema and bound function."""

    type: str
    label: str
    summary: str
    file: str
    fields: tuple[FieldSpec, ...]
    schema: SchemaClass
    function: NodeFunction


@dataclass(frozen=True)
class ConnectionType:
    """A connection type: its declared fields and generated schema."""

    type: str
    label: str
    file: str
    fields: tuple[FieldSpec, ...]
    schema: SchemaClass

    def secret_keys(self) -> frozenset[str]:
        return frozenset(f.key for f in self.fields if f.type == "secret")


@dataclass(frozen=True)
class HandoverProvider:
    """A handover provider the extension declares."""

    type: str
    label: str
    connection_type: str
    webhook_path: str
    factory: str | None = None
    settings: ProviderSettings | None = None


@dataclass(frozen=True)
class EndpointType:
    """An endpoint type the extension declares besides the built-in `webchat`."""

    type: str
    label: str
    factory: str
    settings: EndpointSettings


@dataclass(frozen=True)
class Manifest:
    """The validated extension: everything the runtime binds at start-up."""

    name: str
    label: str
    version: str
    root: Path
    nodes: dict[str, NodeType]
    connections: dict[str, ConnectionType]
    providers: dict[str, HandoverProvider]
    endpoint_types: dict[str, EndpointType] = field(default_factory=dict)

    def provider_of(self, connection_type: str) -> HandoverProvider | None:
        """The declared provider that serves connections of this type, if any."""
        return next((p for p in self.providers.values() if p.connection_type == connection_type), None)


def _read_json(path: Path, rel: str, errors: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        errors.append(f"{rel}: file not found")
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(f"{rel}: cannot be read ({exc.__class__.__name__})")
    except json.JSONDecodeError as exc:
        errors.append(f"{rel}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")
    return None


def _load(schema: Schema, raw: Any, rel: str, errors: list[str]) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        errors.append(f"{rel}: must be a JSON object")
        return None
    try:
        return dict(schema.load(raw))
    except ValidationError as exc:
        errors.extend(f"{rel}: {line}" for line in flatten_errors(exc.messages))
        return None


def _field_specs(raw_fields: list[dict[str, Any]], rel: str, errors: list[str]) -> list[FieldSpec]:
    specs: list[FieldSpec] = []
    seen: set[str] = set()
    for i, f in enumerate(raw_fields):
        where = f"{rel}: fields[{i}]"
        if f["key"] in seen:
            errors.append(f"{where}.key: duplicate field key {f['key']!r}")
        seen.add(f["key"])
        params = dict(f.get("params") or {})
        if f["type"] == "select" and not params.get("options"):
            errors.append(f"{where}.params.options: a select field needs options")
        if params.get("pattern"):
            try:
                re.compile(params["pattern"])
            except re.error as exc:
                errors.append(f"{where}.params.pattern: not a valid regular expression ({exc})")
                params.pop("pattern")
        specs.append(
            FieldSpec(
                key=f["key"], type=f["type"], label=f["label"],
                description=f.get("description", ""), default=f.get("default"),
                has_default="default" in f, params=params, condition=f.get("condition"),
            )
        )
    for spec in specs:
        cond = spec.condition
        if cond is not None and cond["key"] not in seen:
            errors.append(f"{rel}: field {spec.key!r}: condition names unknown field {cond['key']!r}")
    return specs


def _check_defaults(schema: type[Schema], specs: list[FieldSpec], rel: str, errors: list[str]) -> None:
    """A declared default must itself pass its field's validation."""
    defaults = {s.key: s.default for s in specs if s.has_default and s.default is not None}
    try:
        schema(partial=True).load(defaults)
    except ValidationError as exc:
        errors.extend(f"{rel}: default of {line}" for line in flatten_errors(exc.messages))


def _resolve(dotted: str) -> tuple[str, str, Any]:
    module_name, _, attr = dotted.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r} ({exc})") from None
    return module_name, attr, getattr(module, attr, None)


def resolve_function(dotted: str) -> NodeFunction:
    """Import `package.module:callable`; raises ValueError saying what is missing."""
    module_name, attr, fn = _resolve(dotted)
    if not callable(fn):
        raise ValueError(f"module {module_name!r} has no callable {attr!r}")
    return fn  # type: ignore[no-any-return]


def resolve_settings(dotted: str) -> ProviderSettings:
    """Import `package.module:NAME`, a ProviderSettings; raises ValueError saying what is wrong."""
    module_name, attr, found = _resolve(dotted)
    if found is None:
        raise ValueError(f"module {module_name!r} has no {attr!r}")
    if not isinstance(found, ProviderSettings):
        raise ValueError(f"{dotted} is not provider settings (it needs section, schema, build, "
                         "check_connection, warnings and disabled_reason)")
    return found


def _load_node(root: Path, name: str, errors: list[str]) -> NodeType | None:
    rel = f"nodes/{name}"
    data = _load(NodeDescriptorSchema(), _read_json(root / "nodes" / name, rel, errors), rel, errors)
    if data is None:
        return None
    before = len(errors)
    specs = _field_specs(data["fields_"], rel, errors)
    try:
        function = resolve_function(data["function"])
    except ValueError as exc:
        errors.append(f"{rel}: function: {exc}")
        return None
    schema = build_schema(f"{data['type']}Config", specs)
    _check_defaults(schema, specs, rel, errors)
    if len(errors) > before:
        return None
    return NodeType(data["type"], data["label"], data["summary"], rel, tuple(specs), schema, function)


def _load_connection(root: Path, name: str, errors: list[str]) -> ConnectionType | None:
    rel = f"connections/{name}"
    raw = _read_json(root / "connections" / name, rel, errors)
    data = _load(ConnectionDescriptorSchema(), raw, rel, errors)
    if data is None:
        return None
    before = len(errors)
    specs = _field_specs(data["fields_"], rel, errors)
    schema = build_schema(f"{data['type']}Connection", specs)
    _check_defaults(schema, specs, rel, errors)
    if len(errors) > before:
        return None
    return ConnectionType(data["type"], data["label"], rel, tuple(specs), schema)


def _provider_settings(dotted: str | None, index: int, owners: dict[str, int],
                       errors: list[str]) -> ProviderSettings | None:
    """The provider's settings, if it declares any, owning a section no other part of the config has."""
    if dotted is None:
        return None
    where = f"manifest.json: handoverProviders[{index}].settings"
    try:
        settings = resolve_settings(dotted)
    except ValueError as exc:
        errors.append(f"{where}: {exc}")
        return None
    owner = owners.setdefault(settings.section, index)
    if settings.section in RUNTIME_SECTIONS:
        errors.append(f"{where}: section {settings.section!r} belongs to the runtime")
    elif owner != index:
        errors.append(f"{where}: section {settings.section!r} is owned by handoverProviders[{owner}]")
    return settings


def load_manifest(root: Path | None = None) -> Manifest:
    """Load and validate the extension; raises DeclarationError listing every problem."""
    root = root or declarations_root()
    errors: list[str] = []
    data = _load(ManifestSchema(), _read_json(root / "manifest.json", "manifest.json", errors),
                 "manifest.json", errors)
    if data is None:
        raise DeclarationError(errors)
    nodes: dict[str, NodeType] = {}
    for name in data["nodes"]:
        node = _load_node(root, name, errors)
        if node is None:
            continue
        if node.type in nodes:
            errors.append(f"{node.file}: type: {node.type!r} is already declared by {nodes[node.type].file}")
        nodes[node.type] = node
    connections: dict[str, ConnectionType] = {}
    for name in data["connections"]:
        conn = _load_connection(root, name, errors)
        if conn is None:
            continue
        if conn.type in connections:
            errors.append(f"{conn.file}: type: {conn.type!r} is already declared")
        connections[conn.type] = conn
    providers: dict[str, HandoverProvider] = {}
    owners: dict[str, int] = {}
    for i, p in enumerate(data["handoverProviders"]):
        if p["connectionType"] not in connections and not errors:
            errors.append(
                f"manifest.json: handoverProviders[{i}].connectionType: "
                f"no connection declares type {p['connectionType']!r}"
            )
        if p["factory"] is not None:
            try:
                resolve_function(p["factory"])
            except ValueError as exc:
                errors.append(f"manifest.json: handoverProviders[{i}].factory: {exc}")
        settings = _provider_settings(p["settings"], i, owners, errors)
        providers[p["type"]] = HandoverProvider(p["type"], p["label"], p["connectionType"], p["webhookPath"],
                                                p["factory"], settings)
    endpoint_types = _endpoint_types(data["endpointTypes"], errors)
    if errors:
        raise DeclarationError(errors)
    return Manifest(data["name"], data["label"], data["version"], root, nodes, connections, providers,
                    endpoint_types)


def _endpoint_types(declared: list[dict[str, Any]], errors: list[str]) -> dict[str, EndpointType]:
    types: dict[str, EndpointType] = {}
    for i, d in enumerate(declared):
        where = f"manifest.json: endpointTypes[{i}]"
        if d["type"] in types:
            errors.append(f"{where}.type: {d['type']!r} is declared twice")
            continue
        try:
            resolve_function(d["factory"])
        except ValueError as exc:
            errors.append(f"{where}.factory: {exc}")
            continue
        try:
            found = _resolve(d["settings"])[2]
        except ValueError as exc:
            errors.append(f"{where}.settings: {exc}")
            continue
        if not isinstance(found, EndpointSettings):
            errors.append(f"{where}.settings: {d['settings']} is not endpoint settings (it needs table, schema, "
                          "node_types, build, check and disabled_reason)")
            continue
        types[d["type"]] = EndpointType(d["type"], d["label"], d["factory"], found)
    return types
