"""The config seam of an endpoint type other than `webchat`: the endpoint table it owns and its checks.

The manifest's `endpointTypes[]` name, for each type, its `factory` (its routes, as a handover
provider's) and its `settings`: `package.module:NAME`, an object implementing `EndpointSettings`,
checked when the manifest loads. An endpoint of that type carries the table (e.g.
`[endpoints.botConnector]`); the config loader validates it with the schema, runs `check` against
the endpoint's flow, and keeps what `build` returns on the endpoint. Nothing here imports vendor code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from marshmallow import Schema

from .flags import FeatureFlags

# The built-in endpoint type: the user routes and the web chat.
WEBCHAT = "webchat"


@dataclass(frozen=True)
class FlowNode:
    """One node of the endpoint's flow, as `check` sees it."""

    id: str
    type: str
    config: Mapping[str, Any]


@runtime_checkable
class EndpointSettings(Protocol):
    """What an endpoint type declares of an endpoint's configuration."""

    # The endpoint sub-table the type owns (`[endpoints.<table>]`), required on its endpoints.
    table: str
    # Validates that table; unknown keys are refused by the loader, naming their TOML path.
    schema: type[Schema]
    # Node types that only flows of this endpoint type may use.
    node_types: frozenset[str]

    def build(self, values: dict[str, Any]) -> object:
        """The endpoint type's settings of one endpoint, from its loaded table."""

    def check(self, values: Mapping[str, Any], nodes: Sequence[FlowNode]) -> list[str]:
        """Problems the schema cannot see, each `path: message` with the path relative to the
        endpoint (`botConnector.escalationIntent: ...`, `flow: node done ...`)."""

    def disabled_reason(self, flags: FeatureFlags, organisation: str) -> str | None:
        """Why the feature flags keep this endpoint type off for the organisation; None when on."""
