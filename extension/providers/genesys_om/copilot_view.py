"""What the Copilot page shows of a session with a Genesys handover, for a link made for one handover."""

from __future__ import annotations

from typing import Any

from ...copilot import CopilotView
from ...flows.session import Session
from .state import ENDED_HISTORY, HandoverState

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


def copilot_view(session: Session, handover: str) -> CopilotView:
    """The handover's state while it lasts; once it has ended, the conversation as it was then."""
    state = HandoverState.from_doc(session.handover)
    if state is not None and (not handover or state.genesys_user_id == handover):
        state_class, text = STATES.get(state.status, STATES[None])
        return CopilotView(state_class, text, state.conversation_id, session.transcript)
    # Never what the user said to the bot (or another agent) after the handover of the link.
    ended = _ended(session.context.get(ENDED_HISTORY), handover)
    if ended is None:
        return CopilotView("ended", "This handover has ended", state.conversation_id if state else "none", ())
    at = ended.get("at")
    until = float(at) if isinstance(at, int | float) and not isinstance(at, bool) else 0.0
    return CopilotView("ended", ENDED_STATES.get(str(ended.get("status")), "This handover has ended"),
                       str(ended.get("conversationId") or "none"),
                       [i for i in session.transcript if _before(i.get("time"), until)])


def _ended(history: Any, handover: str) -> dict[str, Any] | None:
    if not handover or not isinstance(history, list):
        return None
    return next((r for r in reversed(history) if isinstance(r, dict) and r.get("userId") == handover), None)


def _before(epoch: Any, until: float) -> bool:
    return not isinstance(epoch, bool) and isinstance(epoch, int | float) and epoch <= until
