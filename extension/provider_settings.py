"""The config seam of a handover provider: the TOML section it owns, its checks, warnings and flags.

The manifest's `handoverProviders[].settings` names an object implementing `ProviderSettings`
(`package.module:NAME`), checked when the manifest loads. The config loader validates the
provider's section with its schema and keeps what `build` returns under the provider's
connection type (`Config.settings_for`); nothing here imports vendor code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from marshmallow import Schema

from .flags import FeatureFlags

# The tables the runtime itself owns: no provider may claim one.
RUNTIME_SECTIONS = ("server", "store", "connections", "endpoints")


@runtime_checkable
class ProviderSettings(Protocol):
    """What a provider declares of the runtime configuration."""

    # The top-level TOML table the provider owns (e.g. "handover"); optional in the file.
    section: str
    # Validates that table; unknown keys are refused by the loader, naming their TOML path.
    schema: type[Schema]

    def build(self, values: dict[str, Any], env: Mapping[str, str]) -> object:
        """The settings from the loaded table and the environment; ValueError names a bad variable."""

    def check_connection(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Problems of one connection of the provider's type that its schema cannot see, by key."""

    def warnings(self, connections: Sequence[str], public_url: str | None) -> list[str]:
        """What `validate` points out without refusing, given the provider's connections by name."""

    def disabled_reason(self, flags: FeatureFlags, organisation: str) -> str | None:
        """Why the feature flags keep the provider off for this organisation (what to set); None when on."""
