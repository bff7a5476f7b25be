"""The web chat page, the agent console page and their files: served whole, with strict headers."""

from __future__ import annotations

import re

import aiohttp

from extension.channels.static import ASSETS as RUNTIME_ASSETS
from extension.demo import Demo
from extension.testing.emulator.ui import ASSETS as CONSOLE_ASSETS


async def _get(url: str) -> tuple[int, dict[str, str], str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, dict(response.headers), await response.text()


def _no_inline_code(html: str) -> None:
    # The CSP forbids inline script and style, so the page must not need them.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and " style=" not in html and " on" + "click=" not in html


async def test_the_web_chat_page(demo: Demo) -> None:
    status, headers, html = await _get(demo.webchat_url)
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp and "'unsafe-inline'" not in csp
    assert "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert 'data-url-token="demo"' in html
    assert 'src="/webchat/assets/webchat.js"' in html and 'href="/webchat/assets/webchat.css"' in html
    assert "http://" not in html and "https://" not in html  # nothing from a CDN: no internet needed
    _no_inline_code(html)


async def test_unknown_endpoint_and_unknown_files_are_404(demo: Demo) -> None:
    assert (await _get(f"{demo.runtime_url}/webchat/nope"))[0] == 404
    for name in ("nope.js", "..%2Fwebchat.py", "webchat.html", "%2E%2E%2F%2E%2E%2Fconfig.py"):
        assert (await _get(f"{demo.runtime_url}/webchat/assets/{name}"))[0] == 404, name


async def test_page_files_are_served_with_their_types(demo: Demo) -> None:
    for name, kind in RUNTIME_ASSETS.items():
        status, headers, body = await _get(f"{demo.runtime_url}/webchat/assets/{name}")
        assert status == 200 and headers["Content-Type"] == f"{kind}; charset=utf-8" and body
        assert headers["X-Content-Type-Options"] == "nosniff"
        # The page builds the DOM from text only: an agent's message can never become markup.
        assert "innerHTML" not in body and "insertAdjacentHTML" not in body and "document.write" not in body
    for name, kind in CONSOLE_ASSETS.items():
        status, headers, body = await _get(f"{demo.emulator_url}/console/assets/{name}")
        assert status == 200 and headers["Content-Type"] == f"{kind}; charset=utf-8" and body


async def test_the_agent_console_page(demo: Demo) -> None:
    status, headers, html = await _get(demo.console_url)
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert 'src="/console/assets/console.js"' in html
    _no_inline_code(html)
    console_script = (await _get(f"{demo.emulator_url}/console/assets/console.js"))[2]
    assert "/emulator/conversations" in console_script and "innerHTML" not in console_script
    # The console is no part of the emulated Genesys API: it is neither recorded nor faulted.
    assert not demo.emulator.requests.matching("/console*", None)
    demo.emulator.faults.server_error("*", times=None)
    assert (await _get(demo.console_url))[0] == 200
