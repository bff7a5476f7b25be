"""GET /{urlToken}/socket: live events out, messages and typing in."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiohttp import WSCloseCode, WSMsgType, web

from .. import keys, texts
from ..conversations import UserInput
from ..flows.session import SessionKey
from .http import MAX_BODY, BadInput
from .inputs import parse_after, parse_content, parse_session_query
from .rest import endpoint_of

log = logging.getLogger("extension.channels.socket")
POLL_SECONDS = 25.0
OPEN_SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("open_sockets")


def install(app: web.Application) -> None:
    """Close open sockets on shutdown: clients reconnect at once instead of holding the stop."""
    sockets: set[web.WebSocketResponse] = set()
    app[OPEN_SOCKETS] = sockets

    async def close_all(app: web.Application) -> None:
        for ws in list(sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")

    app.on_shutdown.append(close_all)


async def _push_events(ws: web.WebSocketResponse, request: web.Request, key: SessionKey, after: int) -> None:
    """Replay events after `after`, then push new ones as they are stored."""
    store = request.app[keys.STORE]
    while not ws.closed:
        events = await store.read_events(key.id, after, wait=POLL_SECONDS)
        for event in events:
            await ws.send_str(json.dumps(event))
            after = event["seq"]


async def socket(request: web.Request) -> web.StreamResponse:
    endpoint = endpoint_of(request)
    user_id, session_id = parse_session_query(request.query)
    after = parse_after(request.query)
    key = SessionKey(endpoint.url_token, user_id, session_id)
    conversations = request.app[keys.CONVERSATIONS]
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_BODY)
    await ws.prepare(request)
    open_sockets = request.app[OPEN_SOCKETS] if OPEN_SOCKETS in request.app else set()
    open_sockets.add(ws)
    pusher = asyncio.create_task(_push_events(ws, request, key, after))
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    raise BadInput(texts.FRAME_NOT_JSON) from None
                if not isinstance(frame, dict):
                    raise BadInput(texts.NOT_OBJECT)
                kind = frame.get("type")
                if kind == "message":
                    text, data = parse_content(frame)
                    await conversations.handle_input(endpoint, UserInput(user_id, session_id, text, data))
                elif kind == "typing":
                    await conversations.handle_typing(endpoint, key)
                else:
                    raise BadInput(texts.FRAME_TYPE)
            except BadInput as exc:
                await ws.send_json({"type": "error", "error": exc.message})
    finally:
        open_sockets.discard(ws)
        pusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pusher
    return ws
