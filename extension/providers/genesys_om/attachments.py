"""The files a user sends during a handover: read from the input, each with a MIME type."""

from __future__ import annotations

from typing import Any

from ...genesys.attachments import MEDIA_TYPES, Attachment, guess_mime, is_mime, media_type_for

# Where a chat client may put the type it knows: ours say `mime`, a browser File says `type`.
_MIME_KEYS = ("mime", "contentType", "type")


def user_attachments(data: dict[str, Any]) -> list[dict[str, Any]]:
    """User attachments from `data.attachments`: [{url, mime?, filename?, mediaType?}], in order.

    Every one leaves here with a MIME type, which Genesys requires: the one given, else the one
    its file name (or URL) says, else application/octet-stream.
    """
    items = data.get("attachments")
    if not isinstance(items, list):
        return []
    out = []
    for item in items:
        if not (isinstance(item, dict) and isinstance(item.get("url"), str) and item["url"].strip()):
            continue
        filename = item.get("filename") if isinstance(item.get("filename"), str) else None
        given = next((item[k].strip().lower() for k in _MIME_KEYS if is_mime(item.get(k))), None)
        mime = given or guess_mime(filename, item["url"])
        media = item["mediaType"] if item.get("mediaType") in MEDIA_TYPES else media_type_for(mime)
        out.append({"url": item["url"].strip(), "mediaType": media, "mime": mime, "filename": filename})
    return out


def to_attachment(items: list[dict[str, Any]]) -> Attachment | None:
    """The attachment of one outbox item (each item carries at most one, as Genesys takes it)."""
    if not items:
        return None
    item = items[0]
    return Attachment(url=item["url"], media_type=item.get("mediaType"), mime=item.get("mime"),
                      filename=item.get("filename"))
