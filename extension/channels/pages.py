"""The runtime's HTML pages: the demo web chat (unless turned off) and the Copilot view, with their files."""

from __future__ import annotations

from aiohttp import web

from .. import keys
from .copilot import PATHS as COPILOT_PATHS
from .copilot import copilot_page
from .static import ASSET_PATH, asset, copilot_asset
from .webchat import PATH as WEBCHAT_PATH
from .webchat import webchat_page


def install(app: web.Application) -> None:
    """Add the page routes; call before the `/{urlToken}` routes.

    With `[server] webchat = false` no web chat page or file is served (404); Copilot stays.
    """
    webchat = app[keys.CONFIG].server.webchat
    app.router.add_get(ASSET_PATH, asset if webchat else copilot_asset)
    if webchat:
        app.router.add_get(WEBCHAT_PATH, webchat_page)
    for path in COPILOT_PATHS:
        app.router.add_get(path, copilot_page)
