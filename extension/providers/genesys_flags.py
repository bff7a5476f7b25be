"""The feature flags of the Genesys Cloud providers (docs/CONTRACT.md section 3.1), read from the FeatureFlags."""

from __future__ import annotations

from ..flags import FeatureFlags

ENABLE_OM = "FEATURE_ENABLE_GENESYS_CLOUD_OM"
OM_WHITELIST = "FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST"
# Gates the Genesys Bot Connector endpoint, a later endpoint type with a package of its own.
BOT_CONNECTOR_WHITELIST = "FEATURE_USE_GENESYS_BOT_CONNECTOR_ENDPOINT_WHITELIST"


def om_disabled_reason(flags: FeatureFlags, organisation: str) -> str | None:
    """Why the Open Messaging handover is off for this organisation, naming the flag to set; None when on."""
    if not flags.is_on(ENABLE_OM):
        return f"set {ENABLE_OM}=true"
    whitelist = flags.whitelist(OM_WHITELIST)
    if not whitelist.allows(organisation):
        return f"add {organisation!r} (or *) to {OM_WHITELIST} (now: {whitelist})"
    return None


def genesys_om_for(flags: FeatureFlags, organisation: str) -> bool:
    """Is the Open Messaging handover on for this organisation?"""
    return om_disabled_reason(flags, organisation) is None


def bot_connector_for(flags: FeatureFlags, organisation: str) -> bool:
    """Is the Bot Connector endpoint allowed for this organisation?"""
    return flags.whitelist(BOT_CONNECTOR_WHITELIST).allows(organisation)
