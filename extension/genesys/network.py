"""What went wrong when Genesys could not be reached at all, in words a person can act on."""

from __future__ import annotations

import errno
import socket
import ssl

import aiohttp
from yarl import URL

_ERRNO_REASONS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.ETIMEDOUT: "timeout (no answer in time)",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
}


def where(url: str) -> str:
    """The host (and a port that is not the scheme's default) of a URL; never its credentials."""
    parsed = URL(url)
    host = parsed.host or url
    return f"{host}:{parsed.port}" if parsed.port and not parsed.is_default_port() else host


def reason(exc: BaseException) -> str:
    """DNS failure, connection refused, TLS error or timeout, as short as it can be said."""
    if isinstance(exc, TimeoutError):
        return "timeout (no answer in time)"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate not accepted ({_certificate_problem(exc.certificate_error)})"
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return "TLS handshake failed"
    os_error = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else exc
    if isinstance(exc, aiohttp.ClientConnectorDNSError) or isinstance(os_error, socket.gaierror):
        return "DNS lookup failed (no such host, or no DNS)"
    if isinstance(os_error, OSError) and os_error.errno in _ERRNO_REASONS:
        return _ERRNO_REASONS[os_error.errno]
    # Several addresses tried (IPv6 and IPv4): one OSError without errno lists each failure.
    for code, text in _ERRNO_REASONS.items():
        if f"[Errno {code}]" in str(os_error):
            return text
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(os_error, OSError) and os_error.strerror:
        return f"connection failed ({os_error.strerror})"
    return f"connection failed ({type(exc).__name__})"


def _certificate_problem(error: BaseException) -> str:
    # ssl.SSLCertVerificationError says it best in verify_message ("self-signed certificate").
    text = getattr(error, "verify_message", None) or getattr(error, "strerror", None)
    return str(text) if text else " ".join(str(a) for a in error.args) or type(error).__name__


def describe(exc: BaseException, url: str) -> str:
    """`cannot reach api.mypurecloud.de: connection refused`."""
    return f"cannot reach {where(url)}: {reason(exc)}"
