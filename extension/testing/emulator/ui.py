"""GET /console: the agent console page, a static page built on the /emulator/conversations routes."""

from __future__ import annotations

import functools
from pathlib import Path

from aiohttp import web

FOLDER = Path(__file__).with_name("console_ui")
PAGE_PATH = "/console"
ASSET_PATH = "/console/assets/{name}"
# Only these files are served; a requested name is never joined to a path.
ASSETS = {"console.js": "text/javascript", "console.css": "text/css"}
# No inline script or style anywhere, so the policy can forbid both.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self' https: http: data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def is_console(path: str) -> bool:
    """True for the console's own page and files (not part of the emulated API)."""
    return path == PAGE_PATH or path.startswith(PAGE_PATH + "/")


@functools.cache
def _read(name: str) -> str:
    return (FOLDER / name).read_text(encoding="utf-8")


async def console_page(request: web.Request) -> web.Response:
    """The page; its script polls the conversations and posts the agent's clicks."""
    return web.Response(text=_read("console.html"), content_type="text/html", charset="utf-8", headers={
        "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
    })


async def console_asset(request: web.Request) -> web.Response:
    """One of the page's files."""
    name = request.match_info["name"]
    content_type = ASSETS.get(name)
    if content_type is None:
        return web.json_response({"error": "not found"}, status=404)
    return web.Response(text=_read(name), content_type=content_type, charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})


def add_routes(app: web.Application) -> None:
    """Declare the console's routes."""
    app.router.add_get(PAGE_PATH, console_page)
    app.router.add_get(ASSET_PATH, console_asset)
