"""The runtime's page files (web chat, Copilot): served from package data with strict headers."""

from __future__ import annotations

import functools
import html
import re
from pathlib import Path

from aiohttp import web

from .. import texts
from ..request_bodies import BadInput

FOLDER = Path(__file__).with_name("static")
ASSET_PATH = "/webchat/assets/{name}"
# Only these files are served; a name is never joined to a path, so nothing else can be reached.
ASSETS = {
    "webchat.js": "text/javascript",
    "webchat-render.js": "text/javascript",
    "webchat.css": "text/css",
    "copilot.css": "text/css",
}
COPILOT_ASSETS = {name: kind for name, kind in ASSETS.items() if name.startswith("copilot")}
# Pages without inline script or style, so the policy can forbid both.
WEBCHAT_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
               "img-src 'self' https: http: data:; base-uri 'none'; form-action 'none'; "
               "frame-ancestors 'none'")
# The agent workspace may show the Copilot page in a frame, so framing is not forbidden there.
COPILOT_CSP = "default-src 'none'; style-src 'self'; img-src data:; base-uri 'none'; form-action 'none'"
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@functools.cache
def read(name: str) -> str:
    """A file of the static folder (read once)."""
    return (FOLDER / name).read_text(encoding="utf-8")


def render(template: str, *, raw: dict[str, str] | None = None, **values: str) -> str:
    """Fill `{{name}}`: `values` are HTML-escaped, `raw` fragments are already safe HTML."""
    fragments = raw or {}

    def fill(m: re.Match[str]) -> str:
        key = m.group(1)
        return fragments[key] if key in fragments else html.escape(values[key])

    return _PLACEHOLDER.sub(fill, template)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def page(body: str, csp: str, status: int = 200) -> web.Response:
    """An HTML page with the security headers every page of the runtime carries."""
    # A lone surrogate (valid in JSON, not in UTF-8) from either side is shown as U+FFFD, not a 500.
    encoded = _LONE_SURROGATE.sub("\ufffd", body).encode("utf-8")
    return web.Response(body=encoded, status=status, content_type="text/html", charset="utf-8", headers={
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        # The Copilot URL carries a token: it must not leak through a Referer header.
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    })


async def asset(request: web.Request) -> web.Response:
    """GET /webchat/assets/{name}: one of the page files."""
    return _file(request.match_info["name"], ASSETS)


async def copilot_asset(request: web.Request) -> web.Response:
    """GET /webchat/assets/{name} without the web chat: the Copilot page's files only."""
    return _file(request.match_info["name"], COPILOT_ASSETS)


def _file(name: str, served: dict[str, str]) -> web.Response:
    content_type = served.get(name)
    if content_type is None:
        raise BadInput(texts.NOT_FOUND, 404)
    return web.Response(text=read(name), content_type=content_type, charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})
