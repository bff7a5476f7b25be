"""Endpoint types besides `webchat`, found through the manifest's `endpointTypes` (docs/CONTRACT.md 2.1).

Each declared type names a `factory` (`package.module:callable`), called once at start-up with the
application, the config and the declaration, like a handover provider's: it adds the type's routes
and lifecycle, and may take the endpoint's `POST /{urlToken}` with `take_post`. Nothing here
imports vendor code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from . import keys
from .config import Config
from .flows.engine import Endpoint
from .manifest import EndpointType, Manifest, resolve_function

TypeInput = Callable[[web.Request, Endpoint], Awaitable[web.StreamResponse]]
EndpointTypeFactory = Callable[[web.Application, Config, EndpointType], None]


def take_post(app: web.Application, endpoint_type: str, handler: TypeInput) -> None:
    """Answer `POST /{urlToken}` of the endpoints of this type with `handler`."""
    app.setdefault(keys.TYPE_INPUTS, {})[endpoint_type] = handler


def install_endpoint_types(app: web.Application, config: Config, manifest: Manifest) -> list[str]:
    """Call the factory of every declared endpoint type some endpoint uses; returns those types."""
    used = {e.type for e in config.endpoints}
    installed = []
    for declaration in manifest.endpoint_types.values():
        if declaration.type not in used:
            continue
        factory: EndpointTypeFactory = resolve_function(declaration.factory)
        factory(app, config, declaration)
        installed.append(declaration.type)
    return installed
