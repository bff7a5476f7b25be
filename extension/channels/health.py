"""GET /healthz, /readyz and /metrics."""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..refusals import STORE_RETRY_AFTER


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    store_failure = await request.app[keys.STORE].failure()
    manifest_ok = keys.MANIFEST in request.app
    ready = store_failure is None and manifest_ok
    body = {"status": "ready" if ready else "not ready",
            "store": store_failure or "ok",
            "manifest": "loaded" if manifest_ok else "missing"}
    answer = web.json_response(body, status=200 if ready else 503)
    if not ready:
        answer.headers["Retry-After"] = STORE_RETRY_AFTER
    return answer


async def metrics(request: web.Request) -> web.Response:
    return web.Response(text=request.app[keys.METRICS].render(), content_type="text/plain",
                        headers={"X-Content-Type-Options": "nosniff"})
