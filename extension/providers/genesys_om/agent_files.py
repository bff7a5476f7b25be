"""Agent attachments the user can open: a signed link of the runtime stands for each download URL.

Genesys' download URLs need the connection's OAuth token and redirect to a signed URL
(docs/GENESYS_NOTES.md 10), so a browser cannot open them. At delivery each becomes a link to
`GET /attachments/{token}` (extension/links.py) whose blob holds only where the file is; opening
it fetches the file with the token, follows the redirect without it, and streams it on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ... import texts
from ...file_types import SERVED_HEADERS, content_disposition, safe_filename
from ...flows.session import SessionKey
from ...genesys import GenesysError
from ...genesys.outbound import OutboundAttachment
from ...links import SESSION, SOURCE, SignedLinks, link_url
from ...refusals import BadInput
from ...store import Store
from .connection import GenesysConnection
from .state import PROVIDER

log = logging.getLogger("extension.providers.genesys_om.agent_files")
UNTYPED = "application/octet-stream"


class AgentFiles:
    """Makes the links of agent attachments and serves them from Genesys, within a size limit."""

    def __init__(self, connections: Mapping[str, GenesysConnection], links: SignedLinks, store: Store, *,
                 public_url: str | None, lifetime: float, max_bytes: int) -> None:
        self.connections = connections
        self.links = links
        self.store = store
        self.public_url = public_url
        self.lifetime = lifetime
        self.max_bytes = max_bytes

    async def user_url(self, conn: GenesysConnection, key: SessionKey, attachment: OutboundAttachment) -> str:
        """The URL the user gets: a link of the runtime for a download URL, any other URL as it is."""
        if not conn.client.is_download_url(attachment.url):
            return attachment.url
        blob_id, token = self.links.new(key, self.lifetime)
        await self.store.put_blob(blob_id, b"", {
            SESSION: key.id, SOURCE: PROVIDER, "connection": conn.name, "url": attachment.url,
            "mime": attachment.mime, "filename": attachment.filename}, self.lifetime)
        return link_url(self.public_url, token)

    async def serve(self, request: web.Request, meta: Mapping[str, Any]) -> web.StreamResponse:
        """Stream the file a link's blob names; 502 when Genesys fails or the file is over the limit."""
        conn = self.connections.get(str(meta.get("connection")))
        url = meta.get("url")
        if conn is None or not isinstance(url, str):
            raise BadInput(texts.LINK_REFUSED, 403)
        response: web.StreamResponse | None = None
        try:
            async with conn.client.download(url) as download:
                if download.content_length is not None and download.content_length > self.max_bytes:
                    raise BadInput(texts.FILE_UPSTREAM_TOO_LARGE.format(limit=self.max_bytes), 502)
                given = meta.get("mime") if isinstance(meta.get("mime"), str) else None
                mime = download.content_type if download.content_type != UNTYPED or not given else str(given)
                name = safe_filename(_text(meta.get("filename")) or download.filename, mime)
                response = web.StreamResponse(headers={**SERVED_HEADERS,
                                                       "Content-Disposition": content_disposition(name, mime)})
                response.content_type = mime
                if download.content_length is not None:
                    response.content_length = download.content_length
                await response.prepare(request)
                sent = 0
                async for chunk in download.chunks():
                    sent += len(chunk)
                    if sent > self.max_bytes:
                        log.warning("an agent file passed %d bytes while served: cut off", self.max_bytes)
                        _cut_off(request)
                        return response
                    await response.write(chunk)
                await response.write_eof()
                return response
        except GenesysError as exc:
            log.warning("agent file not fetched from Genesys: %s", exc)
            if response is not None and response.prepared:
                _cut_off(request)
                return response
            reason = f"Genesys answered {exc.status}" if exc.status else "Genesys could not be reached"
            raise BadInput(texts.FILE_UPSTREAM_FAILED.format(reason=reason), 502) from None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _cut_off(request: web.Request) -> None:
    """End a file response already begun: the connection closes, so the client sees it incomplete."""
    if request.transport is not None:
        request.transport.close()
