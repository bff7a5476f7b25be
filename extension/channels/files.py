"""Files: a user's upload (`POST /{urlToken}/attachments`) and every file link (`GET /attachments/{token}`)."""

from __future__ import annotations

import logging

from aiohttp import web

from .. import keys, texts
from ..file_types import SERVED_HEADERS, content_disposition, declared_type, media_type, safe_filename, sniff
from ..flows.session import SessionKey
from ..links import SESSION, SOURCE, UPLOAD, LinkRefused, link_url
from ..request_bodies import BadInput, read_body
from ..store import Blob
from .inputs import parse_session_query
from .rest import endpoint_of

log = logging.getLogger("extension.channels.files")
UNTYPED = ("application/octet-stream",)


async def upload(request: web.Request) -> web.Response:
    """Keep one image or PDF for the session and answer the attachment the next message may carry."""
    endpoint = endpoint_of(request)
    user_id, session_id = parse_session_query(request.query)
    key = SessionKey(endpoint.url_token, user_id, session_id)
    request.app[keys.SESSION_ACCESS].check(request, key, creating=False)
    server = request.app[keys.CONFIG].server
    if not server.public_url:
        raise BadInput(texts.UPLOADS_NEED_PUBLIC_URL, 409)
    filename = _filename(request.query.get("filename"))
    store = request.app[keys.STORE]
    if await store.get_session(key.id) is None:
        raise BadInput(texts.NO_SUCH_SESSION, 404)
    data = await _read_file(request, server.max_upload_bytes)
    mime = _file_type(data, request.headers.get("Content-Type"))
    name = safe_filename(filename, mime)
    blob_id, token = request.app[keys.LINKS].new(key, server.upload_link_seconds)
    await store.put_blob(blob_id, data, {SESSION: key.id, SOURCE: UPLOAD, "mime": mime, "filename": name},
                         server.upload_link_seconds)
    attachment = {"url": link_url(server.public_url, token), "mime": mime, "mediaType": media_type(mime),
                  "filename": name, "size": len(data)}
    return web.json_response({"attachment": attachment}, status=201)


async def serve(request: web.Request) -> web.StreamResponse:
    """The file of a signed link: 403 for one expired, changed, of another session or of an ended one."""
    blob = await _granted(request, request.match_info["token"])
    source = blob.meta.get(SOURCE)
    if source == UPLOAD:
        mime = str(blob.meta.get("mime") or "application/octet-stream")
        headers = {**SERVED_HEADERS, "Content-Disposition": content_disposition(
            safe_filename(str(blob.meta.get("filename") or ""), mime), mime)}
        return web.Response(body=blob.data, content_type=mime, headers=headers)
    serving = request.app[keys.FILE_SOURCES].get(str(source))
    if serving is None:
        raise BadInput(texts.LINK_REFUSED, 403)
    return await serving(request, blob.meta)


async def _granted(request: web.Request, token: str) -> Blob:
    """The blob a link opens; 403 unless it is unexpired, intact, of its blob's session, and that session lives."""
    links, store = request.app[keys.LINKS], request.app[keys.STORE]
    try:
        link = links.parse(token)
        blob = await store.get_blob(link.blob_id)
        session_id = blob.meta.get(SESSION) if blob is not None else None
        if blob is None or not isinstance(session_id, str):
            raise LinkRefused("unknown")
        links.check(link, session_id)
        if await store.get_session(session_id) is None:
            raise LinkRefused("session ended")
    except LinkRefused as exc:
        log.debug("file link refused: %s", exc)
        raise BadInput(texts.LINK_REFUSED, 403) from None
    return blob


async def _read_file(request: web.Request, limit: int) -> bytes:
    """The raw body (bounded like every body), 413 saying the file's limit."""
    try:
        return await read_body(request, limit)
    except BadInput as exc:
        if exc.status != 413 or type(exc) is not BadInput:
            raise
        raise BadInput(texts.FILE_TOO_LARGE.format(limit=limit), 413) from None


def _file_type(data: bytes, content_type: str | None) -> str:
    """The upload's MIME type by its first bytes: 400 when empty, 415 for another type or another declared one."""
    if not data:
        raise BadInput(texts.FILE_EMPTY)
    mime = sniff(data[:16])
    if mime is None:
        raise BadInput(texts.FILE_TYPE.format(found="of another kind"), 415)
    declared = declared_type(content_type)
    if declared is not None and declared not in UNTYPED and declared != mime:
        raise BadInput(texts.FILE_TYPE_MISMATCH.format(found=mime, declared=declared), 415)
    return mime


def _filename(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > 1000 or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise BadInput(texts.FILENAME_INVALID.format(limit=1000))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput(texts.FILENAME_INVALID.format(limit=1000)) from None
    return value
