"""POST /{urlToken} and the long-poll GET /{urlToken}/events."""

from __future__ import annotations

from aiohttp import web

from .. import keys, texts
from ..endpoint_settings import WEBCHAT
from ..flows.engine import Endpoint
from ..flows.events import as_output_stack_item
from ..flows.session import SessionKey
from ..request_bodies import BadInput, parse_json_object, read_body
from ..sessions import SessionExists, SessionKept
from .inputs import IDEMPOTENCY_HEADER, parse_after, parse_session_query, parse_user_input, parse_wait


def endpoint_of(request: web.Request, *, any_type: bool = False) -> Endpoint:
    """The endpoint of the URL token; 404 for none, and (unless `any_type`) for one whose type has
    no user routes."""
    endpoint = request.app[keys.SESSIONS].endpoint(request.match_info["urlToken"])
    if endpoint is None or (endpoint.type != WEBCHAT and not any_type):
        raise BadInput(texts.UNKNOWN_ENDPOINT, 404)
    return endpoint


async def post_input(request: web.Request) -> web.StreamResponse:
    endpoint = endpoint_of(request, any_type=True)
    if endpoint.type != WEBCHAT:
        # The endpoint type's own single-URL route (the Bot Connector's legacy one).
        handler = request.app.get(keys.TYPE_INPUTS, {}).get(endpoint.type)
        if handler is None:
            raise BadInput(texts.UNKNOWN_ENDPOINT, 404)
        return await handler(request, endpoint)
    user_input = parse_user_input(parse_json_object(await read_body(request)),
                                  request.headers.get(IDEMPOTENCY_HEADER))
    key = SessionKey(endpoint.url_token, user_input.user_id, user_input.session_id)
    access = request.app[keys.SESSION_ACCESS]
    grant = access.check(request, key, creating=True)
    try:
        events = await request.app[keys.SESSIONS].handle_input(endpoint, user_input,
                                                                    must_be_new=grant.new_only)
    except SessionExists:
        raise BadInput(texts.SESSION_EXISTS, 401) from None
    stack = [as_output_stack_item(e) for e in events if e["type"] == "output" and e["source"] == "bot"]
    answer: dict[str, object] = {"userId": user_input.user_id, "sessionId": user_input.session_id,
                                 "outputStack": stack}
    token = access.token_for(key)
    if token is not None:
        answer["sessionToken"] = token
    return web.json_response(answer)


async def get_events(request: web.Request) -> web.Response:
    endpoint = endpoint_of(request)
    user_id, session_id = parse_session_query(request.query)
    after = parse_after(request.query)
    wait = parse_wait(request.query)
    key = SessionKey(endpoint.url_token, user_id, session_id)
    request.app[keys.SESSION_ACCESS].check(request, key, creating=False, in_query=True)
    events = await request.app[keys.STORE].read_events(key.id, after, wait=wait)
    return web.json_response({"events": events, "next": events[-1]["seq"] if events else after})


async def delete_session(request: web.Request) -> web.Response:
    """DELETE /{urlToken}/session?userId=&sessionId=: forget the session (ending its handover)."""
    endpoint = endpoint_of(request)
    user_id, session_id = parse_session_query(request.query)
    key = SessionKey(endpoint.url_token, user_id, session_id)
    request.app[keys.SESSION_ACCESS].check(request, key, creating=False, in_query=True)
    try:
        deleted = await request.app[keys.SESSIONS].delete_session(key)
    except SessionKept as exc:
        raise BadInput(texts.SESSION_KEPT.format(reason=exc), 502) from None
    if not deleted:
        raise BadInput(texts.NO_SUCH_SESSION, 404)
    return web.Response(status=204)
