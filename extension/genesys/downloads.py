"""Agent attachments from the download API: OAuth on the API's host, then a redirect to a signed URL.

`GET https://api-downloads.<domain>/api/v2/downloads/{id}` answers a redirect to a signed URL (a
storage host) that needs no token: the token goes only to the API's own hosts, never along the
redirect. The file is streamed; nothing here holds it whole.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

import aiohttp

from .errors import GenesysBadResponse, GenesysError, GenesysUnavailable, error_from_response
from .network import describe as describe_network_failure
from .transport import ResponseHook

log = logging.getLogger("extension.genesys")
DOWNLOAD_PATH = "/api/v2/downloads/"
MAX_REDIRECTS = 3
CHUNK = 64 * 1024
_MAX_ERROR_BODY = 64 * 1024
_FILENAME = re.compile(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)\"?", re.IGNORECASE)


def is_download_url(api_base: str, url: str) -> bool:
    """Whether `url` is the download API of this region (its API host, or `api-downloads.` for `api.`)."""
    base, target = urlsplit(api_base), urlsplit(url)
    hosts = {base.netloc.lower()}
    if base.netloc.lower().startswith("api."):
        hosts.add("api-downloads." + base.netloc.lower()[len("api."):])
    return (target.scheme == base.scheme and target.netloc.lower() in hosts and "@" not in target.netloc
            and target.path.startswith(DOWNLOAD_PATH) and len(target.path) > len(DOWNLOAD_PATH))


@dataclass
class Download:
    """A file being received: its type, declared size and name, and its bytes as they arrive."""

    response: aiohttp.ClientResponse

    @property
    def content_type(self) -> str:
        return self.response.content_type or "application/octet-stream"

    @property
    def content_length(self) -> int | None:
        return self.response.content_length

    @property
    def filename(self) -> str | None:
        found = _FILENAME.search(self.response.headers.get("Content-Disposition", ""))
        return unquote(found.group(1)) if found else None

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self.response.content.iter_chunked(CHUNK):
            yield chunk


@contextlib.asynccontextmanager
async def open_download(session: aiohttp.ClientSession, url: str, token: Callable[[], Awaitable[str]],
                        invalidate: Callable[[str], None], *, read_seconds: float,
                        on_response: ResponseHook | None = None) -> AsyncIterator[Download]:
    """The download at `url` (checked by the caller), the token refreshed once on a 401; GenesysError else."""
    path = urlsplit(url).path
    waits = aiohttp.ClientTimeout(total=None, sock_connect=read_seconds, sock_read=read_seconds)
    async with contextlib.AsyncExitStack() as stack:
        bearer = await token()
        response = await stack.enter_async_context(_request(
            session, url, path, {"Authorization": f"Bearer {bearer}"}, waits, on_response))
        if response.status == 401:
            # Revoked or expired early: a fresh token, once.
            invalidate(bearer)
            bearer = await token()
            response = await stack.enter_async_context(_request(
                session, url, path, {"Authorization": f"Bearer {bearer}"}, waits, on_response))
        hops = 0
        while 300 <= response.status < 400:
            location = response.headers.get("Location")
            hops += 1
            if not location or hops > MAX_REDIRECTS:
                raise GenesysBadResponse("the download redirected without a usable Location",
                                         status=response.status, method="GET", path=path)
            target = urljoin(str(response.url), location)
            # Never from https down to plain http (the signed URL is a credential while it lives).
            if urlsplit(target).scheme not in (("https",) if url.startswith("https:") else ("https", "http")):
                raise GenesysBadResponse("the download redirected to a URL that is not https",
                                         status=response.status, method="GET", path=path)
            # The signed URL carries its own proof: no token goes along.
            response = await stack.enter_async_context(_request(session, target, path, {}, waits, None))
        if not 200 <= response.status < 300:
            body = await response.content.read(_MAX_ERROR_BODY)
            raise error_from_response(response.status, body, response.headers, method="GET", path=path)
        yield Download(response)


@contextlib.asynccontextmanager
async def _request(session: aiohttp.ClientSession, url: str, path: str, headers: dict[str, str],
                   waits: aiohttp.ClientTimeout, hook: ResponseHook | None) -> AsyncIterator[aiohttp.ClientResponse]:
    """One GET, redirects not followed; `hook` (the client's metrics) hears of the download API's answers."""
    started = time.perf_counter()
    try:
        response = await session.get(url, headers=headers, timeout=waits, allow_redirects=False)
    except (aiohttp.ClientError, TimeoutError) as exc:
        _tell(hook, 0, started)
        # The signed URL is never named: its query is a credential.
        raise GenesysUnavailable(describe_network_failure(exc, url.split("?", 1)[0]), method="GET",
                                 path=path) from exc
    _tell(hook, response.status, started)
    try:
        yield response
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise GenesysError(f"the download broke off ({type(exc).__name__})", method="GET", path=path) from exc
    finally:
        response.release()


def _tell(hook: ResponseHook | None, status: int, started: float) -> None:
    if hook is None:
        return
    try:
        hook("GET", DOWNLOAD_PATH + "{downloadId}", status, time.perf_counter() - started)
    except Exception:
        # Metrics must never break a download.
        log.exception("on_response hook failed")
