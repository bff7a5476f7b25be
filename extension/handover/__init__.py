"""Handover providers: how the generic runtime reaches a vendor's handover, found through the manifest.

The manifest's `handoverProviders[]` name, for each provider, the connection type it serves, its
webhook path (the one source of that path) and its `factory`: `package.module:callable`, called
once with the application, the config and the declaration, which adds the provider's routes and
lifecycle and registers the provider under `service_key(connection type)`. The generic
`handoverToAgent` and `closeHandover` nodes then find the provider of their endpoint's connection
by that key; nothing here imports vendor code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import web

from ..config import Config
from ..copilot import CopilotView
from ..flows.engine import NodeApi
from ..flows.session import Session
from ..manifest import HandoverProvider as ProviderDeclaration
from ..manifest import Manifest, resolve_function

__all__ = ["HandoverProvider", "ProviderDeclaration", "ProviderFactory", "install_providers", "service_key"]


class HandoverProvider(Protocol):
    """What the handover nodes call on the provider of their endpoint's connection."""

    async def start(self, api: NodeApi, config: dict[str, Any]) -> None:
        """Hand the session to an agent (the handoverToAgent node)."""

    async def close(self, api: NodeApi, config: dict[str, Any]) -> None:
        """End the session's handover from the bot side (the closeHandover node)."""

    def copilot_view(self, session: Session, handover: str) -> CopilotView:
        """What the Copilot page shows of the session to a link made for `handover` (its id, or "")."""


ProviderFactory = Callable[[web.Application, Config, ProviderDeclaration], None]


def service_key(connection_type: str | None) -> str:
    """The key of a provider in the flow services, by the connection type it serves."""
    return f"handover:{connection_type}"


def install_providers(app: web.Application, config: Config, manifest: Manifest) -> list[str]:
    """Call the factory of every declared provider; returns the connection types installed."""
    installed = []
    for declaration in manifest.providers.values():
        if declaration.factory is None:
            continue
        factory: ProviderFactory = resolve_function(declaration.factory)
        factory(app, config, declaration)
        installed.append(declaration.connection_type)
    return installed
