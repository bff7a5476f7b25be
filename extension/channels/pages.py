"""The runtime's HTML pages: the demo web chat and the Copilot view, with their files."""

from __future__ import annotations

from aiohttp import web

from .copilot import PATHS as COPILOT_PATHS
from .copilot import copilot_page, install_link_hook
from .static import ASSET_PATH, asset
from .webchat import PATH as WEBCHAT_PATH
from .webchat import webchat_page


def install(app: web.Application) -> None:
    """Add the page routes; call after the handover is installed and before `/{urlToken}` routes."""
    app.router.add_get(ASSET_PATH, asset)
    app.router.add_get(WEBCHAT_PATH, webchat_page)
    for path in COPILOT_PATHS:
        app.router.add_get(path, copilot_page)
    install_link_hook(app)
