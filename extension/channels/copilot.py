"""GET /copilot?URLToken=&auth=: the read-only view of one session for the agent (docs/CONTRACT.md section 8)."""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .. import keys, texts
from ..copilot import CopilotAuthError, link_maker, verify_token
from ..providers.genesys_om.runtime import HANDOVER_RUNTIME
from ..providers.genesys_om.state import ENDED_HISTORY, HandoverState
from .static import COPILOT_CSP, page, read, render

log = logging.getLogger("extension.copilot")
PATHS = ("/copilot", "/copilot/")
ROLES = {"user": "Customer", "bot": "Bot", "agent": "Agent", "system": "System"}
STATES = {
    "queue": ("queue", "Waiting in the queue for an agent"),
    "active": ("active", "With an agent"),
    None: ("bot", "With the bot (no handover in progress)"),
}
ENDED_STATES = {
    "completed": "The agent ended this conversation",
    "cancelled": "The user cancelled this handover",
    "error": "This handover ended with an error",
}


def _unauthorized() -> web.Response:
    body = render(read("copilot_denied.html"), message=texts.COPILOT_UNAUTHORIZED)
    return page(body, COPILOT_CSP, status=401)


def _clock(epoch: Any) -> str:
    if isinstance(epoch, bool) or not isinstance(epoch, int | float):
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _transcript(items: list[dict[str, Any]]) -> str:
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
    conversations = request.app[keys.CONVERSATIONS]
    key = grant.key
    if conversations.endpoint(key.url_token) is None:
        return _unauthorized()
    session = await conversations.load_session(key)
    state = HandoverState.from_doc(session.handover)
    transcript = session.transcript
    conversation_id = state.conversation_id if state else "none"
    if state is not None and (not grant.handover or state.genesys_user_id == grant.handover):
        state_class, state_text = STATES.get(state.status, STATES[None])
    else:
        # The handover this link was made for has ended: show the conversation as it was then,
        # never what the user said to the bot (or another agent) afterwards.
        ended = _ended(session.context.get(ENDED_HISTORY), grant.handover)
        state_class = "ended"
        if ended is None:
            state_text, transcript = "This handover has ended", []
        else:
            state_text = ENDED_STATES.get(str(ended.get("status")), "This handover has ended")
            at = ended.get("at")
            until = float(at) if isinstance(at, int | float) and not isinstance(at, bool) else 0.0
            transcript = [i for i in transcript if _before(i.get("time"), until)]
            conversation_id = str(ended.get("conversationId") or "none")
    body = render(
        read("copilot.html"), raw={"transcript": _transcript(transcript)},
        urlToken=key.url_token, state=state_class, stateText=state_text, conversationId=conversation_id,
    )
    return page(body, COPILOT_CSP)


def _ended(history: Any, handover: str) -> dict[str, Any] | None:
    if not handover or not isinstance(history, list):
        return None
    return next((r for r in reversed(history) if isinstance(r, dict) and r.get("userId") == handover), None)


def _before(epoch: Any, until: float) -> bool:
    return not isinstance(epoch, bool) and isinstance(epoch, int | float) and epoch <= until


def install_link_hook(app: web.Application) -> None:
    """Give the handover provider its `copilot_link` hook once the handover runtime exists."""
    secret = app[keys.CONFIG].server.copilot_secret

    async def wire(app: web.Application) -> AsyncIterator[None]:
        # Runs after the handover runtime's own start-up, which appended its context earlier.
        runtime = app.get(HANDOVER_RUNTIME)
        if runtime is not None and secret is not None:
            runtime.handover.copilot_link = link_maker(secret)
        yield

    app.cleanup_ctx.append(wire)
