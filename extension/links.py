"""Signed, expiring links to the files the runtime serves at `GET /attachments/{token}`.

A token is `f1.<id>.<expires>.<signature>`: `id` names a blob in the store (random, 128 bits),
`expires` is in epoch seconds, and the signature is an HMAC-SHA256 of both and of the key of the
session the blob belongs to, under a key derived from the session-token key. The token shows
neither ids nor secrets; the blob's document says which session it belongs to, so a token signed
for one session never opens another session's file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from .flows.session import SessionKey
from .secrets import same_secret

PREFIX = "f1"
PATH = "/attachments/"
# The blob document's keys: the session it belongs to, and who serves it (`upload`, or a provider).
SESSION = "session"
SOURCE = "source"
UPLOAD = "upload"
_MAX_TOKEN = 200


class LinkRefused(Exception):
    """A token that is malformed, expired, changed, or signed for another session."""


class FileSource(Protocol):
    """Serves a file whose blob document names this source (a provider fetching it from its vendor)."""

    async def __call__(self, request: web.Request, meta: Mapping[str, Any]) -> web.StreamResponse: ...


@dataclass(frozen=True)
class ParsedLink:
    """What a well-formed, unexpired token says; its signature is checked against the blob's session."""

    blob_id: str
    expires: int
    signature: str


class SignedLinks:
    """Makes and checks file links; keyed once the store is open, the key never shows itself."""

    __slots__ = ("_key", "_now")

    def __init__(self, now: Callable[[], float]) -> None:
        self._key: bytes | None = None
        self._now = now

    def __repr__(self) -> str:
        return "SignedLinks(key=***)"

    def open(self, key: bytes) -> None:
        self._key = key

    def new(self, session: SessionKey, lifetime: float) -> tuple[str, str]:
        """A fresh blob id for `session` and its token, valid for `lifetime` seconds from now."""
        blob_id = random.token_urlsafe(16)
        return blob_id, self.token(blob_id, session.id, int(self._now() + lifetime))

    def token(self, blob_id: str, session_id: str, expires: int) -> str:
        return f"{PREFIX}.{blob_id}.{expires}.{self._sign(blob_id, session_id, expires)}"

    def parse(self, token: str) -> ParsedLink:
        """The parts of a token that is well formed and not expired; LinkRefused otherwise."""
        parts = token.split(".") if len(token) <= _MAX_TOKEN else []
        if len(parts) != 4 or parts[0] != PREFIX or not parts[1] or not parts[2].isascii() \
                or not parts[2].isdigit() or len(parts[2]) > 12:
            raise LinkRefused("malformed")
        expires = int(parts[2])
        if expires <= self._now():
            raise LinkRefused("expired")
        return ParsedLink(parts[1], expires, parts[3])

    def check(self, link: ParsedLink, session_id: str) -> None:
        """LinkRefused unless the token was signed for this blob of `session_id`."""
        if not same_secret(self._sign(link.blob_id, session_id, link.expires), link.signature):
            raise LinkRefused("signature")

    def _sign(self, blob_id: str, session_id: str, expires: int) -> str:
        if self._key is None:
            raise LinkRefused("not keyed yet")
        message = "\0".join(("file link", blob_id, str(expires), session_id)).encode("utf-8", "surrogatepass")
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def link_url(public_url: str | None, token: str) -> str:
    """The link's URL: absolute under `public_url` when it is set, else relative to the runtime."""
    path = PATH + token
    return public_url.rstrip("/") + path if public_url else path
