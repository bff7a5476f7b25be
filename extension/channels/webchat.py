"""GET /webchat/{urlToken}: the demo web chat page of an endpoint (docs/CONTRACT.md section 9)."""

from __future__ import annotations

from aiohttp import web

from .rest import endpoint_of
from .static import WEBCHAT_CSP, page, read, render

PATH = "/webchat/{urlToken}"


async def webchat_page(request: web.Request) -> web.Response:
    """The page; its script talks to `/{urlToken}/socket` and `/{urlToken}/events`."""
    endpoint = endpoint_of(request)
    return page(render(read("webchat.html"), urlToken=endpoint.url_token), WEBCHAT_CSP)
