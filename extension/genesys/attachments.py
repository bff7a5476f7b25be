"""A customer's attachment as Genesys takes it: one per inbound message, never without a MIME type."""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

MEDIA_TYPES = ("Image", "Video", "Audio", "File", "Link")
# What a file of unknown kind is (RFC 2046): Genesys requires some MIME type on every attachment.
UNKNOWN_MIME = "application/octet-stream"
_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_MEDIA_BY_MAJOR = {"image": "Image", "video": "Video", "audio": "Audio"}


@dataclass(frozen=True)
class Attachment:
    """A file the customer sends; Genesys fetches `url` itself, so it must be reachable.

    Without `mime` the type is guessed from the file name (or the URL's path), else
    application/octet-stream; without `media_type` it follows from the MIME type.
    """

    url: str
    media_type: str | None = None
    mime: str | None = None
    filename: str | None = None


def is_mime(value: object) -> bool:
    """Whether `value` has the shape type/subtype (parameters such as `; charset=` excluded)."""
    return isinstance(value, str) and bool(_MIME.match(value.strip().lower()))


def guess_mime(filename: str | None, url: str | None = None) -> str:
    """The MIME type a file name (else the URL's last path segment) says, else application/octet-stream."""
    for name in (filename, unquote(urlsplit(url).path) if url else None):
        if name:
            guessed, _ = mimetypes.guess_type(name, strict=False)
            if guessed:
                return guessed
    return UNKNOWN_MIME


def media_type_for(mime: str) -> str:
    """The Open Messaging media type of a MIME type: Image, Video, Audio or File."""
    return _MEDIA_BY_MAJOR.get(mime.split("/", 1)[0].lower(), "File")


def attachment_content(item: Attachment) -> dict[str, Any]:
    """One inbound `content[]` item (OpenContentAttachment: mediaType, url and mime required)."""
    url = item.url.strip() if isinstance(item.url, str) else ""
    if not url:
        raise ValueError("an attachment needs a url")
    if item.mime is not None and not is_mime(item.mime):
        raise ValueError(f"attachment mime must be a MIME type such as image/png, not {item.mime!r}")
    mime = item.mime.strip().lower() if item.mime else guess_mime(item.filename, url)
    media_type = item.media_type or media_type_for(mime)
    if media_type not in MEDIA_TYPES:
        raise ValueError(f"mediaType must be one of {MEDIA_TYPES}, not {item.media_type!r}")
    attachment: dict[str, Any] = {"mediaType": media_type, "url": url, "mime": mime}
    if item.filename:
        attachment["filename"] = item.filename
    return {"contentType": "Attachment", "attachment": attachment}
