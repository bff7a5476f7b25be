"""GET /{urlToken}/socket: live events out, messages and typing in."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from .. import bounded_json, keys, texts
from ..flows.engine import Endpoint, FlowRuntimeError
from ..flows.session import SessionKey
from ..request_bodies import MAX_BODY, BadInput
from ..sessions import SessionExists, Sessions, UserInput
from ..store import StoreError
from .inputs import parse_after, parse_content, parse_idempotency_key, parse_session_query
from .rest import endpoint_of

log = logging.getLogger("extension.channels.socket")
POLL_SECONDS = 25.0
# A feed whose store fails retries from its last seq, backing off from this many seconds, and
# closes the socket (1011: the client reconnects) when the store is still failing after the other.
FEED_RETRY_SECONDS = 0.1
FEED_GIVE_UP_SECONDS = 30.0
# Closes a socket whose first message met a session it has no token for (the web chat starts anew).
CLOSE_UNAUTHORIZED = 4401
# On shutdown, how long the sockets' closing handshakes are waited for, all together.
CLOSE_WAIT_SECONDS = 1.0


def install(app: web.Application) -> None:
    """Close open sockets on shutdown."""
    sockets: set[web.WebSocketResponse] = set()
    app[keys.OPEN_SOCKETS] = sockets

    async def close_all(app: web.Application) -> None:
        # Clients reconnect at once instead of holding the stop; one that does not answer the close
        # is not waited for past CLOSE_WAIT_SECONDS.
        closing = [ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down") for ws in list(sockets)]
        if closing:
            await asyncio.wait([asyncio.ensure_future(c) for c in closing], timeout=CLOSE_WAIT_SECONDS)

    app.on_shutdown.append(close_all)


def _frame_id(frame: dict[str, Any]) -> str | None:
    return parse_idempotency_key(frame.get("id"), "id")


async def _push_events(ws: web.WebSocketResponse, request: web.Request, key: SessionKey, after: int) -> None:
    """Replay events after `after`, then push new ones as they are stored.

    A store that fails for a moment (a Redis restart) does not end the feed: it resumes from the
    last seq pushed once the store answers. One that stays down closes the socket with 1011, which
    the web chat reconnects on (with `after`), so a socket is never left open and silent.
    """
    store = request.app[keys.STORE]
    clock = request.app[keys.CLOCK]  # the pauses and the give-up age run on the runtime's clock
    failing_since: float | None = None
    pause = FEED_RETRY_SECONDS
    while not ws.closed and not store.stopping:
        try:
            events = await store.read_events(key.id, after, wait=POLL_SECONDS)
        except StoreError as exc:
            now = clock.monotonic()
            if failing_since is None:
                failing_since = now
                log.warning("socket feed of endpoint %s paused, the store failed: %s", key.url_token, exc)
            if now - failing_since > FEED_GIVE_UP_SECONDS:
                await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"event feed unavailable, reconnect")
                return
            await clock.sleep(pause)
            pause = min(pause * 2, 2.0)
            continue
        if failing_since is not None:
            log.info("socket feed of endpoint %s resumed from seq %d", key.url_token, after)
            failing_since, pause = None, FEED_RETRY_SECONDS
        for event in events:
            await ws.send_str(json.dumps(event))
            after = event["seq"]


async def _message(sessions: Sessions, endpoint: Endpoint, key: SessionKey,
                   frame: dict[str, Any], frame_id: str | None, *, must_be_new: bool = False) -> None:
    """Apply a message frame; one with an id is applied once per session (its idempotency key) and
    acknowledged only after its commit, again when it is resent after a dropped socket."""
    text, data = parse_content(frame)
    await sessions.handle_input(endpoint, UserInput(key.user_id, key.session_id, text, data, frame_id),
                                     must_be_new=must_be_new)


async def socket(request: web.Request) -> web.StreamResponse:
    endpoint = endpoint_of(request)
    user_id, session_id = parse_session_query(request.query)
    after = parse_after(request.query)
    key = SessionKey(endpoint.url_token, user_id, session_id)
    sessions = request.app[keys.SESSIONS]
    access = request.app[keys.SESSION_ACCESS]
    # Without its token, a socket may only start a new session: its first message creates it, and
    # only then does the socket get the token and the session's events.
    new_only = access.check(request, key, creating=True, in_query=True).new_only
    if new_only and (await sessions.store.get_session(key.id) is not None
                     or await sessions.store.read_events(key.id, 0, limit=1)):
        raise BadInput(texts.SESSION_EXISTS, 401)
    if not new_only:
        # A store that fails answers the upgrade with 503, like every route, instead of a silent socket.
        await sessions.store.read_events(key.id, after, limit=1)
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_BODY)
    await ws.prepare(request)
    open_sockets = request.app[keys.OPEN_SOCKETS] if keys.OPEN_SOCKETS in request.app else set()
    open_sockets.add(ws)
    pusher: asyncio.Task[None] | None = None
    if not new_only:
        pusher = asyncio.create_task(_push_events(ws, request, key, after))
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            frame_id: str | None = None
            try:
                try:
                    frame = bounded_json.loads(msg.data)
                except bounded_json.TooDeep as exc:
                    raise BadInput(str(exc)) from None
                except ValueError:
                    raise BadInput(texts.FRAME_NOT_JSON) from None
                if not isinstance(frame, dict):
                    raise BadInput(texts.NOT_OBJECT)
                kind = frame.get("type")
                if kind == "message":
                    frame_id = _frame_id(frame)
                    try:
                        await _message(sessions, endpoint, key, frame, frame_id, must_be_new=new_only)
                    except SessionExists:
                        await ws.send_json(_error(texts.SESSION_EXISTS, frame_id))
                        await ws.close(code=CLOSE_UNAUTHORIZED, message=b"session token required")
                        break
                    if new_only:
                        new_only = False
                        await ws.send_json({"type": "session", "sessionToken": access.token_for(key)})
                        pusher = asyncio.create_task(_push_events(ws, request, key, after))
                    if frame_id is not None:
                        await ws.send_json({"type": "ack", "id": frame_id})
                elif kind == "typing":
                    if not new_only:
                        await sessions.handle_typing(endpoint, key)
                else:
                    raise BadInput(texts.FRAME_TYPE)
            except BadInput as exc:
                await ws.send_json(_error(exc.message, frame_id))
            except StoreError as exc:
                # Nothing was applied; the client may send the frame again once the store is back.
                log.error("store failed on a socket frame of endpoint %s: %s", endpoint.url_token, exc)
                await ws.send_json(_error(texts.STORE_FAILED, frame_id))
            except FlowRuntimeError as exc:
                # Nothing of the turn was stored; the socket stays open for the next input.
                log.error("flow failed on a socket frame of endpoint %s: %s", endpoint.url_token, exc)
                await ws.send_json(_error(texts.FLOW_FAILED, frame_id))
    finally:
        open_sockets.discard(ws)
        if pusher is not None:
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher
    return ws


def _error(message: str, frame_id: str | None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": "error", "error": message}
    if frame_id is not None:
        error["id"] = frame_id
    return error
