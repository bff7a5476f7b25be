"""What a file is, by its first bytes, and the headers it is served with."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

# The files a user may upload: MIME type by signature (the first bytes of the file).
_SIGNATURES: tuple[tuple[str, bytes, int], ...] = (
    ("image/png", b"\x89PNG\r\n\x1a\n", 0),
    ("image/jpeg", b"\xff\xd8\xff", 0),
    ("image/gif", b"GIF87a", 0),
    ("image/gif", b"GIF89a", 0),
    ("application/pdf", b"%PDF-", 0),
)
UPLOAD_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf")
EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
              "application/pdf": ".pdf"}
# Shown in the browser rather than saved: types a browser renders without running anything of theirs.
INLINE_TYPES = frozenset(UPLOAD_TYPES)
MAX_FILENAME = 200
_UNSAFE = re.compile(r"[\"\\/:*?<>|;]")


def sniff(head: bytes) -> str | None:
    """The upload type the first bytes of a file say, or None for any other content."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for mime, signature, at in _SIGNATURES if head[at:at + len(signature)] == signature), None)


def media_type(mime: str) -> str:
    """The Open Messaging media type of an upload: Image for images, File for the rest."""
    return "Image" if mime.startswith("image/") else "File"


def declared_type(value: str | None) -> str | None:
    """A Content-Type header's type/subtype, lower case, without parameters (None when absent)."""
    if not value:
        return None
    return value.split(";", 1)[0].strip().lower() or None


def safe_filename(name: str | None, mime: str) -> str:
    """A file name fit for a header: no path, no control or quoting characters, bounded; else `file.<ext>`."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    # Control and format characters (a right-to-left override that disguises `gpj.exe`) go.
    base = "".join(c for c in base if unicodedata.category(c) not in ("Cc", "Cf"))
    base = unicodedata.normalize("NFC", _UNSAFE.sub("_", base)).strip(" .")[:MAX_FILENAME]
    return base or "file" + EXTENSIONS.get(mime, "")


def content_disposition(filename: str, mime: str) -> str:
    """`inline` for the types a browser shows safely, else `attachment`, with an ASCII and a UTF-8 name."""
    kind = "inline" if mime in INLINE_TYPES else "attachment"
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


# Every served file: never sniffed into something else, never run as a page of this origin.
SERVED_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'",
                  "Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}
