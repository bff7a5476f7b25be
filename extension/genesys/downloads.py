"""Agent attachments from the download API: OAuth on the API's host, then a redirect to a signed URL.

`GET https://api-downloads.<domain>/api/v2/downloads/{id}` answers a redirect to a signed URL (a
storage host) that needs no token: the token goes only to the API's own hosts, never along the
redirect. The file is streamed; nothing here holds it whole.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

import aiohttp

from .errors import GenesysBadResponse, GenesysError, GenesysUnavailable, error_from_response
from .network import describe as describe_network_failure

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
                        invalidate: Callable[[str], None], *, read_seconds: float) -> AsyncIterator[Download]:
    """The download at `url` (checked by the caller), the token refreshed once on a 401; GenesysError else."""
    path = urlsplit(url).path
    waits = aiohttp.ClientTimeout(total=None, sock_connect=read_seconds, sock_read=read_seconds)
    async with contextlib.AsyncExitStack() as stack:
        response = None
        for attempt in (1, 2):
            bearer = await token()
            response = await stack.enter_async_context(_request(
                session, url, path, {"Authorization": f"Bearer {bearer}"}, waits, redirects=False))
            if response.status == 401 and attempt == 1:
                invalidate(bearer)
                continue
            break
        assert response is not None
        hops = 0
        while 300 <= response.status < 400:
            location = response.headers.get("Location")
            hops += 1
            if not location or hops > MAX_REDIRECTS:
                raise GenesysBadResponse("the download redirected without a usable Location",
                                         status=response.status, method="GET", path=path)
            target = urljoin(str(response.url), location)
            if urlsplit(target).scheme not in ("https", "http"):
                raise GenesysBadResponse("the download redirected to a URL that is not http(s)",
                                         status=response.status, method="GET", path=path)
            # The signed URL carries its own proof: no token goes along.
            response = await stack.enter_async_context(_request(session, target, path, {}, waits, redirects=False))
        if not 200 <= response.status < 300:
            body = await response.content.read(_MAX_ERROR_BODY)
            raise error_from_response(response.status, body, response.headers, method="GET", path=path)
        yield Download(response)


@contextlib.asynccontextmanager
async def _request(session: aiohttp.ClientSession, url: str, path: str, headers: dict[str, str],
                   waits: aiohttp.ClientTimeout, *, redirects: bool) -> AsyncIterator[aiohttp.ClientResponse]:
    try:
        response = await session.get(url, headers=headers, timeout=waits, allow_redirects=redirects)
    except (aiohttp.ClientError, TimeoutError) as exc:
        # The signed URL is never named: its query is a credential.
        raise GenesysUnavailable(describe_network_failure(exc, url.split("?", 1)[0]), method="GET",
                                 path=path) from exc
    try:
        yield response
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise GenesysError(f"the download broke off ({type(exc).__name__})", method="GET", path=path) from exc
    finally:
        response.release()
