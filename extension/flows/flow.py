"""Flows as loaded from JSON: nodes in order, each config validated by its node type's schema."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from marshmallow import RAISE, Schema, ValidationError, validate
from marshmallow import fields as mf

from ..manifest import Manifest, NodeFunction, NodeType
from ..validation import DeclarationError, flatten_errors

# A check a schema cannot express: (field path, problem) for each malformed part of a config.
ConfigCheck = Callable[[dict[str, Any]], list[tuple[str, str]]]
_F = TypeVar("_F", bound=NodeFunction)
_CONFIG_CHECKS: dict[NodeFunction, ConfigCheck] = {}


def checks_config(check: ConfigCheck) -> Callable[[_F], _F]:
    """Run `check` on each config of the decorated node function when a flow loads."""

    def register(function: _F) -> _F:
        _CONFIG_CHECKS[function] = check
        return function

    return register


class _NodeSchema(Schema):
    class Meta:
        unknown = RAISE

    id = mf.String(required=True, validate=validate.Length(min=1, max=200))
    type = mf.String(required=True)
    label = mf.String()
    config = mf.Dict(keys=mf.String(), load_default=dict)
    next = mf.String(validate=validate.Length(min=1))


class _FlowSchema(Schema):
    class Meta:
        unknown = RAISE

    name = mf.String(required=True, validate=validate.Length(min=1))
    description = mf.String()
    nodes = mf.List(mf.Dict(), required=True, validate=validate.Length(min=1))


@dataclass(frozen=True)
class FlowNode:
    """One node of a flow with its validated config."""

    id: str
    type: str
    config: dict[str, Any]
    next: str | None
    index: int
    function: NodeFunction


@dataclass(frozen=True)
class Flow:
    """A validated flow."""

    name: str
    source: str
    nodes: tuple[FlowNode, ...]

    by_id: dict[str, FlowNode] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {n.id: n for n in self.nodes})

    def node(self, node_id: str) -> FlowNode | None:
        return self.by_id.get(node_id)

    def first(self) -> FlowNode:
        return self.nodes[0]

    def following(self, node: FlowNode) -> FlowNode | None:
        """The node that runs after `node` when nothing redirects: its `next`, else the next one."""
        if node.next is not None:
            return self.node(node.next)
        return self.nodes[node.index + 1] if node.index + 1 < len(self.nodes) else None


def _node_refs(node_type: NodeType, config: dict[str, Any]) -> list[tuple[str, str]]:
    """(field path, referenced node id) for each node reference in a config."""
    refs: list[tuple[str, str]] = []
    for spec in node_type.fields:
        value = config.get(spec.key)
        if spec.params.get("ref") == "node" and isinstance(value, str):
            refs.append((spec.key, value))
        if spec.params.get("values") == "nodeRef" and isinstance(value, dict):
            refs.extend((f"{spec.key}.{k}", v) for k, v in value.items() if isinstance(v, str))
    return refs


def parse_flow(raw: Any, source: str, manifest: Manifest) -> Flow:
    """Validate a flow document; raises DeclarationError naming source, node id and field."""
    errors: list[str] = []
    if not isinstance(raw, dict):
        raise DeclarationError([f"{source}: a flow must be a JSON object"])
    try:
        doc = _FlowSchema().load(raw)
    except ValidationError as exc:
        raise DeclarationError([f"{source}: {m}" for m in flatten_errors(exc.messages)]) from None
    nodes: list[FlowNode] = []
    seen: set[str] = set()
    pending_refs: list[tuple[str, str, str]] = []
    for i, node_raw in enumerate(doc["nodes"]):
        where = f"{source}: nodes[{i}]"
        try:
            node_doc = _NodeSchema().load(node_raw)
        except ValidationError as exc:
            errors.extend(f"{where}: {m}" for m in flatten_errors(exc.messages))
            continue
        nid, ntype = node_doc["id"], node_doc["type"]
        where = f"{source}: node {nid!r} ({ntype})"
        if nid in seen:
            errors.append(f"{where}: id: duplicate node id")
        seen.add(nid)
        node_type = manifest.nodes.get(ntype)
        if node_type is None:
            errors.append(f"{where}: type: unknown node type (known: {', '.join(sorted(manifest.nodes))})")
            continue
        try:
            config = node_type.schema().load(node_doc["config"])
        except ValidationError as exc:
            errors.extend(f"{where}: field {m}" for m in flatten_errors(exc.messages))
            continue
        check = _CONFIG_CHECKS.get(node_type.function)
        problems = check(config) if check is not None else []
        if problems:
            errors.extend(f"{where}: field {path}: {problem}" for path, problem in problems)
            continue
        if "next" in node_doc:
            pending_refs.append((where, "next", node_doc["next"]))
        pending_refs.extend((where, f"field {path}", ref) for path, ref in _node_refs(node_type, config))
        nodes.append(FlowNode(nid, ntype, config, node_doc.get("next"), len(nodes), node_type.function))
    for where, what, ref in pending_refs:
        if ref not in seen:
            errors.append(f"{where}: {what}: no node with id {ref!r} in this flow")
    if errors:
        raise DeclarationError(errors)
    return Flow(doc["name"], source, tuple(nodes))


def load_flow(path: Path, manifest: Manifest, source: str | None = None) -> Flow:
    """Read and validate a flow file."""
    source = source or str(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeclarationError([f"{source}: flow file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DeclarationError([f"{source}: cannot be read ({exc.__class__.__name__})"]) from None
    except json.JSONDecodeError as exc:
        raise DeclarationError([f"{source}: not valid JSON (line {exc.lineno}: {exc.msg})"]) from None
    return parse_flow(raw, source, manifest)
