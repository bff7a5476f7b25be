"""Feature flags from the environment (docs/CONTRACT.md section 3.1): read once, named by the providers."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

# Only these variables are kept: the flags, never a credential that happens to be in the environment.
PREFIX = "FEATURE_"
_TRUE = {"true", "1", "yes", "on"}


@dataclass(frozen=True)
class Whitelist:
    """Comma-separated organisations, or `*` for every organisation."""

    everyone: bool = False
    names: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, raw: str | None) -> Whitelist:
        items = [p.strip() for p in (raw or "").split(",") if p.strip()]
        return cls(everyone="*" in items, names=frozenset(i for i in items if i != "*"))

    def allows(self, organisation: str) -> bool:
        return self.everyone or organisation in self.names

    def __str__(self) -> str:
        return "*" if self.everyone else ",".join(sorted(self.names)) or "(empty)"


@dataclass(frozen=True)
class FeatureFlags:
    """The FEATURE_* variables as the runtime started with them; each provider reads its own by name."""

    values: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FeatureFlags:
        env = os.environ if env is None else env
        return cls({name: value for name, value in env.items() if name.startswith(PREFIX)})

    def is_on(self, name: str) -> bool:
        """A flag set to true (or 1, yes, on)."""
        return self.values.get(name, "").strip().lower() in _TRUE

    def whitelist(self, name: str) -> Whitelist:
        """A flag listing organisations; an unset flag allows none."""
        return Whitelist.parse(self.values.get(name))
