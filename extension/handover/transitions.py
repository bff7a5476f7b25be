"""One INFO line per handover transition, in one format for every provider, so an operator can follow a handover.

Each line names the session (urlToken, userId, sessionId: identifiers the agent sees too, never
the session token), the connection and the Genesys conversation id; the JSON log format carries
them as fields. `reason` says why a handover failed or ended, when known.
"""

from __future__ import annotations

import logging

from ..flows.session import SessionKey

# The name operators filter on, whichever provider logs.
log = logging.getLogger("extension.handover.transitions")

STARTED, QUEUED, ACTIVE, TRANSFERRED = "started", "queued", "active", "transferred"
ENDED, CANCELLED, ERROR = "ended", "cancelled", "error"
# The handover event statuses users see, by the transition they are.
_OF_STATUS = {"queue": QUEUED, "active": ACTIVE, "completed": ENDED, "cancelled": CANCELLED, "error": ERROR}


def of_status(status: str) -> str:
    """The transition of a handover event status (`completed` is `ended`)."""
    return _OF_STATUS.get(status, status)


def log_transition(what: str, key: SessionKey, connection: str | None, conversation_id: str | None,
               reason: str | None = None) -> None:
    """Log that the handover of session `key` went to `what`."""
    fields = {"transition": what, "urlToken": key.url_token, "userId": key.user_id,
              "sessionId": key.session_id, "connection": connection, "conversationId": conversation_id}
    if reason:
        fields["reason"] = reason
    log.info("handover %s: session %s/%s/%s, connection %s, conversation %s%s", what,
             key.url_token, key.user_id, key.session_id, connection or "-", conversation_id or "-",
             f" ({reason})" if reason else "", extra=fields)
