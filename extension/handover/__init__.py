"""Handover providers: how the generic runtime reaches a vendor's handover, found through the manifest.

The manifest's `handoverProviders[]` name, for each provider, the connection type it serves, its
webhook path (the one source of that path) and its `factory`: `package.module:callable`, called
once with the application, the config and the declaration, which adds the provider's routes and
lifecycle and, once running, calls `register_provider`. The generic `handoverToAgent` and
`closeHandover` nodes then find the provider of their endpoint's connection by its connection
type; nothing here imports vendor code. Its config table, validation and flags are its
`ProviderSettings` (extension/provider_settings.py), named by the manifest's `settings`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import web

from ..config import Config
from ..copilot import CopilotView
from ..flows.engine import Endpoint, NodeApi, Turn
from ..flows.session import Session, SessionKey
from ..manifest import HandoverProvider as ProviderDeclaration
from ..manifest import Manifest, resolve_function
from ..sessions import AfterEnd, Sessions, service_key

__all__ = ["HandoverProvider", "ProviderDeclaration", "ProviderFactory", "install_providers", "register_provider",
           "service_key"]


class HandoverProvider(Protocol):
    """What the runtime calls on the provider of an endpoint's connection."""

    async def start(self, api: NodeApi, config: dict[str, Any]) -> None:
        """Hand the session to an agent (the handoverToAgent node)."""

    async def close(self, api: NodeApi, config: dict[str, Any]) -> None:
        """End the session's handover from the bot side (the closeHandover node)."""

    async def on_input(self, turn: Turn) -> bool:
        """A user input: True when the provider took it (the session is with an agent), False lets the flow run."""

    async def on_typing(self, endpoint: Endpoint, key: SessionKey) -> None:
        """The user is typing (the session document is not read for it)."""

    async def on_session_end(self, session: Session) -> AfterEnd | None:
        """The session is deleted or expires: end its handover first (SessionKept to keep it)."""

    def copilot_view(self, session: Session, handover: str) -> CopilotView:
        """What the Copilot page shows of the session to a link made for `handover` (its id, or "")."""


ProviderFactory = Callable[[web.Application, Config, ProviderDeclaration], None]


def register_provider(sessions: Sessions, connection_type: str, provider: HandoverProvider) -> None:
    """Make a running provider the one of its connection type: the nodes, inputs, typing and
    session ends of the endpoints of that type reach it, and no other endpoint's."""
    sessions.add_provider(connection_type, provider)


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
