"""The aiohttp application: routes, app state and background lifecycles."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from . import keys, texts
from .channels import files, health, pages, rest, socket
from .channels.access import SessionAccess, warn_open_endpoints
from .clock import SYSTEM_CLOCK, Clock
from .config import Config
from .endpoint_settings import WEBCHAT
from .endpoint_types import install_endpoint_types
from .expiry import SessionExpiry
from .flows.engine import Endpoint, FlowRuntimeError
from .handover import install_providers
from .links import SignedLinks
from .manifest import Manifest
from .metrics import Metrics
from .refusals import STORE_RETRY_AFTER
from .repeating import StoreFailures
from .request_bodies import MAX_BODY, BadInput, BodyReading, BodyRefused, json_error
from .sessions import InputLimits, Sessions
from .store import Store, StoreError, store_from_url

log = logging.getLogger("extension.app")
# A store failure is logged once, then at most once per this many seconds with the count since.
STORE_LOG_EVERY = 10.0
# On shutdown, how long requests in flight get to finish (a turn to commit) before they are closed;
# long-polls answer at once, so the whole stop stays within about 5 s.
SHUTDOWN_GRACE_SECONDS = 2.0


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors_and_timing(request: web.Request, handler: Handler) -> web.StreamResponse:
    """JSON errors for every refusal, and route latency for /metrics."""
    started = time.perf_counter()
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "none"
    try:
        return await handler(request)
    except BodyRefused as exc:
        return await _answer_and_close(request, json_error(exc.status, exc.message))
    except BadInput as exc:
        answer = json_error(exc.status, exc.message)
        if exc.retry_after is not None:
            answer.headers["Retry-After"] = str(exc.retry_after)
        return answer
    except StoreError as exc:
        _log_store_failure(request, route, exc)
        answer = json_error(503, texts.STORE_FAILED)
        answer.headers["Retry-After"] = STORE_RETRY_AFTER
        return answer
    except web.HTTPRequestEntityTooLarge:
        return json_error(413, texts.BODY_TOO_LARGE.format(limit=MAX_BODY))
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            return json_error(exc.status, exc.reason)
        raise
    except FlowRuntimeError as exc:
        log.error("flow failed on %s %s: %s", request.method, route, exc)
        return json_error(500, texts.FLOW_FAILED)
    except Exception:
        # A bug, not a refusal: logged whole, and answered in JSON like every other error.
        log.exception("unexpected failure on %s %s", request.method, route)
        return json_error(500, texts.INTERNAL_ERROR)
    finally:
        request.app[keys.METRICS].http_latency.observe(time.perf_counter() - started, route=route)


async def _answer_and_close(request: web.Request, answer: web.Response) -> web.Response:
    """Send the answer, then close the connection at once.

    aiohttp would otherwise linger, reading what is left of the body for up to 10 s (and, for a
    body that fails to decode, raise again while doing so): the rest of a refused body is never read.
    """
    answer.force_close()
    await answer.prepare(request)
    await answer.write_eof()
    request.protocol.force_close()
    return answer


def _log_store_failure(request: web.Request, route: str, exc: StoreError) -> None:
    """The real error, once, then once per STORE_LOG_EVERY seconds with how many requests failed."""
    failures = request.app[keys.STORE_FAILURES]
    failures.count += 1
    now = time.monotonic()
    if failures.logged is not None and now - failures.logged < STORE_LOG_EVERY:
        return
    count, failures.count, failures.logged = failures.count, 0, now
    log.error("store failed on %s %s (%d request(s) answered 503): %s", request.method, route, count, exc)


def endpoints_from(config: Config) -> dict[str, Endpoint]:
    return {
        e.url_token: Endpoint(e.url_token, config.flows[e.url_token], e.organisation, e.handover,
                              {"copilotUrl": e.copilot_url} if e.copilot_url else {},
                              _connection_type(config, e.handover) if e.type == WEBCHAT else e.type, e.type)
        for e in config.endpoints
    }


def _connection_type(config: Config, name: str | None) -> str | None:
    connection = config.connections.get(name) if name is not None else None
    return connection.type if connection is not None else None


def warn_disabled_handovers(config: Config, manifest: Manifest) -> list[str]:
    """One warning per endpoint whose handover its provider's feature flags switch off."""
    warnings = []
    for e in config.endpoints:
        provider = manifest.provider_of(_connection_type(config, e.handover) or "")
        if provider is None or provider.settings is None:
            continue
        reason = provider.settings.disabled_reason(config.flags, e.organisation)
        if reason:
            warnings.append(
                f"endpoint {e.url_token!r} (organisation {e.organisation!r}): {provider.label} "
                f"handover is off, handoverToAgent will end with status error/unsupported; "
                f"to enable it, {reason}"
            )
    for line in warnings:
        log.warning("%s", line)
    return warnings


def build_app(config: Config, manifest: Manifest, *, store: Store | None = None,
              clock: Clock = SYSTEM_CLOCK) -> web.Application:
    """Create the runtime application for a validated config (`clock`: the one its timers use)."""
    # A connection must send a whole request head within header_timeout_seconds of opening (or of
    # its last answer): aiohttp's keep-alive timer covers both, for every runner (serve and tests).
    app = web.Application(middlewares=[errors_and_timing], client_max_size=MAX_BODY,
                          handler_args={"keepalive_timeout": config.server.header_timeout_seconds})
    metrics = Metrics()
    the_store = store or store_from_url(config.store_url, config.base_dir)
    app[keys.CONFIG] = config
    app[keys.MANIFEST] = manifest
    app[keys.METRICS] = metrics
    app[keys.CLOCK] = clock
    app[keys.STORE] = the_store
    app[keys.STORE_FAILURES] = StoreFailures()
    app[keys.BODY_READING] = BodyReading(config.server.body_timeout_seconds, config.server.max_pending_requests)
    limits = InputLimits(config.server.max_text_chars, config.server.max_data_bytes)
    app[keys.SESSIONS] = Sessions(the_store, endpoints_from(config), metrics=metrics, limits=limits,
                                         clock=clock)
    access = app[keys.SESSION_ACCESS] = SessionAccess.from_config(config)
    links = app[keys.LINKS] = SignedLinks(clock.time)
    app[keys.FILE_SOURCES] = {}

    async def store_lifecycle(app: web.Application) -> AsyncIterator[None]:
        the_store.stopping = False  # a store given to a new app after the last one stopped waits again
        await the_store.open()
        await access.open(the_store, config.server.session_secret)
        if access.tokens is not None:
            links.open(access.tokens.subkey("file links"))
        warn_disabled_handovers(config, manifest)
        warn_open_endpoints(config.endpoints)
        yield
        await the_store.close()

    app.cleanup_ctx.append(store_lifecycle)
    app.router.add_routes([
        web.get("/healthz", health.healthz),
        web.get("/readyz", health.readyz),
        web.get("/metrics", health.metrics),
    ])
    install_providers(app, config, manifest)
    install_endpoint_types(app, config, manifest)
    expiry = SessionExpiry(app[keys.SESSIONS], config.session_idle_seconds, clock=clock)

    async def expiry_lifecycle(app: web.Application) -> AsyncIterator[None]:
        # After the handover starts and before it stops: ending a session may end its handover.
        expiry.start()
        yield
        await expiry.stop()

    app.cleanup_ctx.append(expiry_lifecycle)

    async def answer_waiting_reads(app: web.Application) -> None:
        # First of the shutdown: pending long-polls answer now with what they have.
        the_store.stop_waiting()

    app.on_shutdown.append(answer_waiting_reads)
    # The web chat and Copilot pages: before the `/{urlToken}` routes, which would otherwise match
    # `/webchat/...` first.
    pages.install(app)
    socket.install(app)
    app.router.add_routes([
        web.get("/attachments/{token}", files.serve),
        web.post("/{urlToken}", rest.post_input),
        web.post("/{urlToken}/attachments", files.upload),
        web.delete("/{urlToken}/session", rest.delete_session),
        web.get("/{urlToken}/events", rest.get_events),
        web.get("/{urlToken}/socket", socket.socket),
    ])
    return app
