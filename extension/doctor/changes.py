"""What `genesys-om doctor --fix` would change on a Genesys integration, and what became of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..genesys import GenesysClient, Integration


@dataclass(frozen=True)
class Change:
    """One field to set; `value` is never printed (`shown` says what a person may read)."""

    name: str  # the OpenIntegrationUpdateRequest field
    label: str
    shown: str
    value: str = field(repr=False)


@dataclass
class Fix:
    """The changes one connection's integration needs (or, with `bots`, the bot list a Bot Connector
    integration needs), and what became of them."""

    connection: str
    integration: Integration
    changes: list[Change]
    client: GenesysClient = field(repr=False)
    notes: list[str] = field(default_factory=list)
    public_url: str | None = None
    # The integration as Genesys answered the PATCH.
    updated: Integration | None = None
    outcome: str = "pending"  # pending | nothing to do | applied | declined | not asked | failed
    error: str | None = None
    # The whole bot list to PUT (a Bot Connector integration's BotList); None for a PATCH.
    bots: list[dict[str, Any]] | None = None
