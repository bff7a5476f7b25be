"""The download API of agent files, behind OAuth and a redirect, as Genesys serves them.

`GET /api/v2/downloads/{downloadId}` needs a bearer token (the API middleware checks it) and
answers 303 to a signed URL, `/signed-downloads/{downloadId}?expires=&signature=`, which serves
the bytes with their type and file name, needs no token and expires after SIGNED_URL_SECONDS.
An agent sends a hosted file with `reply_with_file` (its attachment URL is the download API's).
The sample files (rich_samples.py) are also served in public at SAMPLE_PATH, as a card's image is.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import web

from .errors import error_response
from .keys import EMULATOR, EmulatorParts
from .messages import Attachment
from .rich_samples import SAMPLE_FILES, SAMPLE_PATH
from .webhooks import WebhookDelivery

DOWNLOAD_PATH = "/api/v2/downloads/{downloadId}"
SIGNED_PATH = "/signed-downloads/{downloadId}"
SIGNED_URL_SECONDS = 60.0
CHUNK = 16 * 1024


@dataclass(frozen=True)
class HostedFile:
    data: bytes
    mime: str
    filename: str
    # Sent in chunks without a Content-Length, as a storage host may.
    chunked: bool = False

    def __repr__(self) -> str:
        return f"HostedFile({self.filename!r}, {self.mime}, {len(self.data)} bytes)"


@dataclass
class HostedFiles:
    """The agents' files, by download id, and the key the signed URLs are signed with."""

    files: dict[str, HostedFile] = field(default_factory=dict)
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def add(self, data: bytes, mime: str, filename: str, *, chunked: bool = False) -> str:
        download_id = secrets.token_hex(16)
        self.files[download_id] = HostedFile(bytes(data), mime, filename, chunked)
        return download_id

    def signature(self, download_id: str, expires: int) -> str:
        return hmac.new(self.key, f"{download_id}:{expires}".encode(), hashlib.sha256).hexdigest()


HOSTED: web.AppKey[HostedFiles] = web.AppKey("hosted_files", HostedFiles)


def hosted_files(app: web.Application) -> HostedFiles:
    """The hosted files of an emulator app (`emulator.app`)."""
    return app[HOSTED]


def host_file(app: web.Application, base_url: str, data: bytes, mime: str, filename: str, *,
              chunked: bool = False) -> Attachment:
    """Host a file; the attachment an agent message carries for it (its URL is the download API's)."""
    download_id = hosted_files(app).add(data, mime, filename, chunked=chunked)
    return {"url": base_url.rstrip("/") + DOWNLOAD_PATH.format(downloadId=download_id), "mime": mime,
            "filename": filename, "contentSizeBytes": len(data)}


async def reply_with_file(emulator: Any, conversation_id: str, data: bytes, mime: str, filename: str,
                          text: str | None = None, *, chunked: bool = False, wait: bool = True) -> WebhookDelivery:
    """The connected agent sends a file the emulator hosts (`emulator`: a started Emulator)."""
    attachment = host_file(emulator.app, emulator.base_url, data, mime, filename, chunked=chunked)
    delivery: WebhookDelivery = await emulator.agent.reply(conversation_id, text, attachments=[attachment],
                                                           wait=wait)
    return delivery


def _now(emulator: EmulatorParts) -> float:
    return emulator.clock()


async def download(request: web.Request) -> web.StreamResponse:
    download_id = request.match_info["downloadId"]
    files = hosted_files(request.app)
    if download_id not in files.files:
        return error_response(request, 404, f"download {download_id} not found", code="not.found")
    expires = int(_now(request.app[EMULATOR]) + SIGNED_URL_SECONDS)
    signed = (SIGNED_PATH.format(downloadId=quote(download_id, safe=""))
              + f"?expires={expires}&signature={files.signature(download_id, expires)}")
    return web.Response(status=303, headers={"Location": str(request.url.origin()) + signed})


async def signed_download(request: web.Request) -> web.StreamResponse:
    download_id = request.match_info["downloadId"]
    files = hosted_files(request.app)
    hosted = files.files.get(download_id)
    raw_expires = request.query.get("expires", "")
    expires = int(raw_expires) if raw_expires.isdigit() else 0
    if (hosted is None or request.headers.get("Authorization")
            or not hmac.compare_digest(files.signature(download_id, expires), request.query.get("signature", ""))
            or expires <= _now(request.app[EMULATOR])):
        # A storage host refuses a changed, expired or token-carrying request alike.
        return web.Response(status=403, text="AccessDenied", content_type="text/plain")
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(hosted.filename, safe='')}"}
    if not hosted.chunked:
        return web.Response(body=hosted.data, content_type=hosted.mime, headers=headers)
    response = web.StreamResponse(headers=headers)
    response.content_type = hosted.mime
    response.enable_chunked_encoding()
    await response.prepare(request)
    for start in range(0, len(hosted.data), CHUNK):
        await response.write(hosted.data[start:start + CHUNK])
    await response.write_eof()
    return response


async def sample_file(request: web.Request) -> web.StreamResponse:
    found = SAMPLE_FILES.get(request.match_info["kind"])
    if found is None:
        return web.Response(status=404, text="NoSuchKey", content_type="text/plain")
    data, mime, _ = found
    return web.Response(body=data, content_type=mime)


def add_routes(app: web.Application) -> None:
    app[HOSTED] = HostedFiles()
    app.router.add_get(DOWNLOAD_PATH, download)
    app.router.add_get(SIGNED_PATH, signed_download)
    app.router.add_get(SAMPLE_PATH, sample_file)
