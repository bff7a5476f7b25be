"""Feature flags from the environment (docs/CONTRACT.md section 3.1)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

ENABLE_OM = "FEATURE_ENABLE_GENESYS_CLOUD_OM"
OM_WHITELIST = "FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST"
BOT_CONNECTOR_WHITELIST = "FEATURE_USE_GENESYS_BOT_CONNECTOR_ENDPOINT_WHITELIST"

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
    """The flags that gate the Genesys Cloud providers per organisation."""

    genesys_om_enabled: bool = False
    genesys_om_whitelist: Whitelist = Whitelist()
    bot_connector_whitelist: Whitelist = Whitelist()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FeatureFlags:
        env = os.environ if env is None else env
        return cls(
            genesys_om_enabled=env.get(ENABLE_OM, "").strip().lower() in _TRUE,
            genesys_om_whitelist=Whitelist.parse(env.get(OM_WHITELIST)),
            bot_connector_whitelist=Whitelist.parse(env.get(BOT_CONNECTOR_WHITELIST)),
        )

    def genesys_om_for(self, organisation: str) -> bool:
        """Is the Open Messaging handover on for this organisation?"""
        return self.genesys_om_enabled and self.genesys_om_whitelist.allows(organisation)

    def bot_connector_for(self, organisation: str) -> bool:
        return self.bot_connector_whitelist.allows(organisation)

    def om_disabled_reason(self, organisation: str) -> str | None:
        """Why the handover is off for this organisation, naming the flag to set; None when on."""
        if not self.genesys_om_enabled:
            return f"set {ENABLE_OM}=true"
        if not self.genesys_om_whitelist.allows(organisation):
            return f"add {organisation!r} (or *) to {OM_WHITELIST} (now: {self.genesys_om_whitelist})"
        return None
