"""Exceptions raised by the Genesys Cloud client, and the mapping from HTTP answers to them."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from typing import Any

CORRELATION_HEADER = "Genesys-Correlation-Id"
# The header the official SDK reads the correlation id from (its logger.py); preferred when present.
SDK_CORRELATION_HEADER = "ININ-Correlation-Id"

# A Genesys message is one sentence; anything longer is a proxy's HTML page we should not echo.
_MAX_MESSAGE = 300


class MalformedMessage(ValueError):
    """A webhook body or notification frame whose fields have the wrong shape."""


class CallAbandoned(Exception):
    """A call stopped between tries because its caller no longer wanted it (not a Genesys answer)."""


class GenesysError(Exception):
    """A failed call to Genesys Cloud, with what Genesys said about it."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        context_id: str | None = None,
        correlation_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.message = _one_line(message)
        self.status = status
        self.code = code
        self.context_id = context_id
        self.correlation_id = correlation_id
        self.method = method
        self.path = path
        super().__init__(self._render())

    def _render(self) -> str:
        where = " ".join(part for part in (self.method, self.path) if part)
        what = " ".join(str(part) for part in (self.status, self.code) if part is not None)
        ids = ", ".join(
            f"{label}={value}"
            for label, value in (("contextId", self.context_id),
                                 ("correlationId", self.correlation_id))
            if value
        )
        text = self.message
        if what:
            text = f"{what}: {text}"
        if where:
            text = f"{where}: {text}"
        if ids:
            text = f"{text} ({ids})"
        return text

    def __str__(self) -> str:
        return self._render()


class GenesysAuthError(GenesysError):
    """No access token: wrong client id/secret, a login host that is no Genesys region, or no network."""

    def __init__(self, message: str, *, likely_cause: str, **fields: Any) -> None:
        self.likely_cause = likely_cause
        self.hint = _AUTH_HINTS.get(likely_cause)
        super().__init__(message, **fields)

    def _render(self) -> str:
        text = super()._render()
        return f"{text}; {self.hint}" if self.hint else text


_AUTH_HINTS = {
    "credentials": "check the OAuth client id and secret, and that the client uses the "
                   "client-credentials grant",
    "region": "check the region host: the login service was not found there",
    "network": "check the network from this machine to Genesys Cloud (DNS, firewall, proxy)",
}


class GenesysRateLimited(GenesysError):
    """HTTP 429: Genesys asks us to wait `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **fields: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **fields)


class GenesysServerError(GenesysError):
    """HTTP 5xx from Genesys."""


class GenesysUnavailable(GenesysError):
    """Genesys could not be reached: connection refused, DNS, timeout."""


class GenesysClientError(GenesysError):
    """A 4xx other than 401 and 429: our request was wrong, retrying will not help."""


class GenesysForbidden(GenesysClientError):
    """HTTP 403: the OAuth client's role lacks a permission."""


class GenesysNotFound(GenesysClientError):
    """HTTP 404."""


class GenesysBadResponse(GenesysError):
    """A 2xx answer we cannot read (not JSON, or not the documented shape)."""


class GenesysLookupError(GenesysError):
    """A named integration or queue does not exist; `available` lists the names that do."""

    def __init__(self, kind: str, name: str, existing: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.available = closest_names(name, existing)
        shown = ", ".join(repr(n) for n in self.available[:5]) or "none"
        super().__init__(f"no {kind} named {name!r}; existing, closest first: {shown}")


def closest_names(name: str, names: Iterable[str]) -> tuple[str, ...]:
    """All distinct names, most similar to `name` first (case-insensitive), ties alphabetical."""
    wanted = name.casefold()

    def score(candidate: str) -> float:
        return difflib.SequenceMatcher(None, wanted, candidate.casefold()).ratio()

    return tuple(sorted(set(names), key=lambda n: (-score(n), n)))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header; None when missing or not whole seconds."""
    # Genesys documents whole seconds; an HTTP date or garbage falls back to our own backoff.
    if value is None or not value.strip().isdigit():
        return None
    return float(int(value.strip()))


def error_from_response(
    status: int, body: bytes, headers: Mapping[str, str], *, method: str, path: str
) -> GenesysError:
    """The exception for a non-2xx answer, filled from the Genesys error body and headers."""
    payload = _json_object(body)
    message = _text(payload.get("message")) or _text(payload.get("error_description")) \
        or _text(payload.get("description")) or f"HTTP {status}"
    code = _text(payload.get("code")) or _text(payload.get("error"))
    fields: dict[str, Any] = {
        "status": status,
        "code": code,
        "context_id": _text(payload.get("contextId")),
        "correlation_id": correlation_of(headers),
        "method": method,
        "path": path,
    }
    if status == 429:
        return GenesysRateLimited(
            message, retry_after=parse_retry_after(headers.get("Retry-After")), **fields
        )
    if status >= 500:
        return GenesysServerError(message, **fields)
    if status == 401:
        return GenesysAuthError(message, likely_cause="credentials", **fields)
    if status == 403:
        return GenesysForbidden(message, **fields)
    if status == 404:
        return GenesysNotFound(message, **fields)
    if 400 <= status < 500:
        return GenesysClientError(message, **fields)
    return GenesysError(message, **fields)


def correlation_of(headers: Mapping[str, str]) -> str | None:
    """The request's correlation id from the answer's headers, if Genesys sent one."""
    return headers.get(SDK_CORRELATION_HEADER) or headers.get(CORRELATION_HEADER)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _one_line(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= _MAX_MESSAGE else flat[: _MAX_MESSAGE - 1] + "…"
