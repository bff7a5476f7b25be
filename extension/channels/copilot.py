"""GET /copilot?URLToken=&auth=: the read-only view of one session for the agent (docs/CONTRACT.md section 8)."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .. import keys, texts
from ..copilot import NO_HANDOVER, CopilotAuthError, verify_token
from ..handover import HandoverProvider, service_key
from .static import COPILOT_CSP, page, read, render

log = logging.getLogger("extension.copilot")
PATHS = ("/copilot", "/copilot/")
ROLES = {"user": "Customer", "bot": "Bot", "agent": "Agent", "system": "System"}


def _unauthorized() -> web.Response:
    body = render(read("copilot_denied.html"), message=texts.COPILOT_UNAUTHORIZED)
    return page(body, COPILOT_CSP, status=401)


def _clock(epoch: Any) -> str:
    if isinstance(epoch, bool) or not isinstance(epoch, int | float):
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _transcript(items: Iterable[dict[str, Any]]) -> str:
    lines = []
    for item in items:
        role = str(item.get("role", ""))
        lines.append(
            f'<li class="msg {html.escape(role if role in ROLES else "other")}">'
            f'<span class="who">{html.escape(ROLES.get(role, role))}</span>'
            f'<time>{html.escape(_clock(item.get("time")))}</time>'
            f'<p class="text">{html.escape(str(item.get("text") or ""))}</p></li>'
        )
    return "\n".join(lines) or '<li class="empty">No messages yet.</li>'


async def copilot_page(request: web.Request) -> web.Response:
    """The session's transcript and handover state, for the holder of a valid link only."""
    secret = request.app[keys.CONFIG].server.copilot_secret
    if secret is None:
        # The same answer as a bad link: a runtime without Copilot reveals nothing about it.
        log.debug("copilot page refused: %s", texts.COPILOT_OFF)
        return _unauthorized()
    try:
        grant = verify_token(secret, request.query.get("auth"), request.query.get("URLToken"))
    except CopilotAuthError as exc:
        log.info("copilot page refused: %s", exc)
        return _unauthorized()
    sessions = request.app[keys.SESSIONS]
    key = grant.key
    endpoint = sessions.endpoint(key.url_token)
    if endpoint is None:
        return _unauthorized()
    session = await sessions.load_session(key)
    # What the page shows is the provider's to say: the state, and which part of the transcript.
    provider: HandoverProvider | None = sessions.services.get(service_key(endpoint.handover_type))
    view = NO_HANDOVER if provider is None else provider.copilot_view(session, grant.handover)
    body = render(
        read("copilot.html"), raw={"transcript": _transcript(view.transcript)},
        urlToken=key.url_token, state=view.state, stateText=view.text, conversationId=view.conversation_id,
    )
    return page(body, COPILOT_CSP)
