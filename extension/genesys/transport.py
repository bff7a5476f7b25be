"""One HTTP exchange with Genesys: timing, logging, metrics hook and error mapping."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from .errors import (
    GenesysBadResponse,
    GenesysUnavailable,
    correlation_of,
    error_from_response,
)
from .network import describe as describe_network_failure

log = logging.getLogger("extension.genesys")

# Called after every exchange with (method, path template, HTTP status, seconds); status 0 means
# no answer arrived (connection error or timeout).
ResponseHook = Callable[[str, str, int, float], None]

_MAX_ERROR_BODY = 64 * 1024
# One timeout object per distinct value: building it for every request shows on the receipt path.
_TIMEOUTS: dict[float, aiohttp.ClientTimeout] = {}


def client_timeout(total: float) -> aiohttp.ClientTimeout:
    """The shared `ClientTimeout(total=total)` (it is immutable, so sharing is safe)."""
    timeout = _TIMEOUTS.get(total)
    if timeout is None:
        timeout = _TIMEOUTS[total] = aiohttp.ClientTimeout(total=total)
    return timeout


async def exchange(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    path: str,
    path_template: str,
    headers: Mapping[str, str],
    request_timeout: float,
    params: Mapping[str, str] | None = None,
    json_body: Any = None,
    data: str | bytes | None = None,
    on_response: ResponseHook | None = None,
    parse: bool = True,
) -> Any:
    """Send one request; return the decoded JSON answer (None if empty) or raise a GenesysError.

    With `parse` False a success answer is read (so the connection is reused) but not decoded: None.
    """
    started = time.perf_counter()
    status = 0
    try:
        async with session.request(
            method,
            url,
            headers=dict(headers),
            params=params,
            json=json_body,
            data=data,
            timeout=client_timeout(request_timeout),
            allow_redirects=False,
        ) as resp:
            status = resp.status
            body = await resp.read() if status < 300 else await resp.content.read(_MAX_ERROR_BODY)
            correlation_id = correlation_of(resp.headers)
            resp_headers = resp.headers
    except (aiohttp.ClientError, TimeoutError) as exc:
        _report(on_response, method, path_template, 0, started)
        log.debug("%s %s -> no answer: %s", method, path, type(exc).__name__)
        raise GenesysUnavailable(describe_network_failure(exc, url), method=method, path=path) from exc
    _report(on_response, method, path_template, status, started)
    log.debug("%s %s -> %s (correlation id %s)", method, path, status, correlation_id)
    if not 200 <= status < 300:
        raise error_from_response(status, body, resp_headers, method=method, path=path)
    if not parse or not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise GenesysBadResponse(
            "answer is not JSON", status=status, correlation_id=correlation_id,
            method=method, path=path,
        ) from None


def _report(hook: ResponseHook | None, method: str, template: str, status: int, t0: float) -> None:
    if hook is None:
        return
    try:
        hook(method, template, status, time.perf_counter() - t0)
    except Exception:
        # Metrics must never break a handover.
        log.exception("on_response hook failed")
