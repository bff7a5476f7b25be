"""OAuth client-credentials tokens: fetched once, shared by all callers, refreshed before expiry."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from .errors import (
    GenesysAuthError,
    GenesysError,
    GenesysRateLimited,
    GenesysServerError,
    GenesysUnavailable,
)
from .retry import RetryPolicy
from .transport import ResponseHook, exchange

log = logging.getLogger("extension.genesys")

OAUTH_PATH = "/oauth/token"
REFRESH_MARGIN = 60.0
# Genesys lets an OAuth client's token lifetime go down to 300 s; assume that when it is not said.
_DEFAULT_LIFETIME = 300.0


class TokenProvider:
    """Bearer tokens for one OAuth client; at most one token request is in flight at a time."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        login_base: str,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        retry: RetryPolicy | None = None,
        request_timeout: float = 10.0,
        on_response: ResponseHook | None = None,
    ) -> None:
        self._session = session
        self._login_base = login_base.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._retry = retry or RetryPolicy()
        self._timeout = request_timeout
        self._on_response = on_response
        self._token: str | None = None
        self._refresh_at = 0.0
        self._inflight: asyncio.Future[str] | None = None
        self.requests_made = 0

    def __repr__(self) -> str:
        return (
            f"TokenProvider(login_base={self._login_base!r}, client_id={self._client_id!r}, "
            f"has_token={self._token is not None})"
        )

    async def get(self) -> str:
        """A valid access token, from the cache or from one shared request to the login host."""
        if self._token is not None and self._clock() < self._refresh_at:
            return self._token
        if self._inflight is None:
            task = asyncio.ensure_future(self._fetch())
            task.add_done_callback(self._fetched)
            self._inflight = task
        # Shielded: one waiter being cancelled must not cancel the request the others wait for.
        return await asyncio.shield(self._inflight)

    def invalidate(self, token: str) -> None:
        """Forget `token` (an API call answered 401 with it); a newer token is kept."""
        if token == self._token:
            self._token = None

    def _fetched(self, task: asyncio.Future[str]) -> None:
        if self._inflight is task:
            self._inflight = None
        if not task.cancelled():
            task.exception()  # Retrieved here so an unawaited failure is not reported as lost.

    async def _fetch(self) -> str:
        url = self._login_base + OAUTH_PATH
        credentials = f"{self._client_id}:{self._client_secret}".encode()
        headers = {
            "Authorization": "Basic " + base64.b64encode(credentials).decode("ascii"),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }

        async def once() -> Any:
            self.requests_made += 1
            return await exchange(
                self._session, "POST", url, path=OAUTH_PATH, path_template=OAUTH_PATH,
                headers=headers, data="grant_type=client_credentials",
                request_timeout=self._timeout, on_response=self._on_response,
            )

        try:
            payload = await self._retry.run(once)
        except (GenesysRateLimited, GenesysServerError):
            raise  # Genesys is busy or failing: not a configuration problem.
        except GenesysUnavailable as exc:
            # DNS, a refused connection, TLS or a timeout: the network, not the credentials or the region.
            raise GenesysAuthError(exc.message, likely_cause="network", method="POST", path=OAUTH_PATH) from exc
        except GenesysError as exc:
            # 400/401/403 come from a real login service refusing us; anything else (404, a
            # redirect, a non-JSON page) means this host is not a Genesys login service.
            cause = "credentials" if exc.status in (400, 401, 403) else "region"
            raise GenesysAuthError(
                self._scrub(f"token request refused: {exc.message}"), likely_cause=cause,
                status=exc.status, code=exc.code, context_id=exc.context_id,
                correlation_id=exc.correlation_id, method="POST", path=OAUTH_PATH,
            ) from None
        return self._accept(payload)

    def _accept(self, payload: Any) -> str:
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise GenesysAuthError(
                "the login host answered without an access token", likely_cause="region",
                method="POST", path=OAUTH_PATH,
            )
        lifetime = payload.get("expires_in")
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = _DEFAULT_LIFETIME
        # Short-lived tokens (an emulator's) would be stale at once with a fixed 60 s margin.
        margin = REFRESH_MARGIN if lifetime > 2 * REFRESH_MARGIN else lifetime / 2
        self._token = token
        self._refresh_at = self._clock() + float(lifetime) - margin
        log.debug("access token obtained, valid for %s s", lifetime)
        return token

    def _scrub(self, text: str) -> str:
        # Defensive: a proxy or emulator could echo the request back in its error text.
        return text.replace(self._client_secret, "***") if self._client_secret else text
