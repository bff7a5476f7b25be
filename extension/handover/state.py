"""The state of one Genesys handover, kept in the session document (so it is stored with turns)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

PROVIDER = "genesysCloudOM"
# Store indexes that map Genesys ids back to the session key.
BY_USER = "om:user"
BY_CONVERSATION = "om:conv"
# Session key -> where its typing goes while its handover is open (connection, integration and
# Genesys user id): a typing frame reads this, never the whole session.
TYPING_TO = "om:typing-to"
# Customer disconnects Genesys has not confirmed yet: conversation id -> connection name.
PENDING_DISCONNECT = "om:disconnect"
# Handover starts not yet committed: Genesys user id -> a StartIntent (JSON).
STARTING = "om:starting"
# Session-context keys the provider owns.
SEEN_WEBHOOKS = "genesysOM.seenWebhookIds"
PENDING_RESOLVE = "genesysOM.pendingResolve"
# The session's last ended handover: agent messages Genesys retries after its end still reach the user.
ENDED = "genesysOM.ended"
# How long after its end an agent message of a handover is still delivered (Genesys retries a
# webhook for about 25 s; a message stored in the webhook inbox may be replayed minutes later).
LATE_MESSAGE_SECONDS = 600.0


@dataclass
class HandoverOptions:
    """What the handoverToAgent node asked for that matters after the start."""

    accepted_message: str = "You are being connected to an agent."
    repeat_accepted_message: bool = False
    cancel_text: str = "cancel"
    cancel_button_text: str | None = None
    send_resolve_event: bool = True
    send_active_event: bool = False


@dataclass
class HandoverState:
    """One handover = one Genesys conversation, addressed by a fresh end-user id."""

    connection: str
    genesys_user_id: str
    conversation_id: str
    integration_id: str
    queue_id: str
    queue_name: str
    status: str = "queue"  # queue | active
    options: HandoverOptions = field(default_factory=HandoverOptions)
    # User messages waiting to reach Genesys, oldest first; each keeps its messageId across retries.
    outbox: list[dict[str, Any]] = field(default_factory=list)
    next_message_no: int = 1
    started_at: float = field(default_factory=time.time)
    delay_notified: bool = False
    pending_end_at: float | None = None
    # The session's send budget (budget.py): tokens left at send_at, None for a full bucket.
    send_tokens: float | None = None
    send_at: float = 0.0

    def to_doc(self) -> dict[str, Any]:
        # Shallow on purpose (the doc is encoded right away); dataclasses.asdict deep-copies.
        return {"provider": PROVIDER, **vars(self), "options": dict(vars(self.options))}

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> HandoverState | None:
        if not doc or doc.get("provider") != PROVIDER:
            return None
        values = {k: v for k, v in doc.items() if k != "provider"}
        values["options"] = HandoverOptions(**values.get("options", {}))
        return cls(**values)

    def new_message_id(self) -> str:
        """A stable `channel.messageId` for the next user message of this handover."""
        message_id = f"{self.genesys_user_id}-{self.next_message_no}"
        self.next_message_no += 1
        return message_id

    def ended_record(self) -> dict[str, Any]:
        """What the session keeps of this handover once it has ended (see ENDED)."""
        return {"userId": self.genesys_user_id, "connection": self.connection,
                "conversationId": self.conversation_id, "at": time.time()}


def ended_recently(record: Any, genesys_user_id: str | None, now: float | None = None) -> str | None:
    """The connection of an ENDED record for this Genesys user id while it is recent, else None."""
    if not isinstance(record, dict) or not genesys_user_id or record.get("userId") != genesys_user_id:
        return None
    try:
        at = float(record.get("at", 0.0))
    except (TypeError, ValueError):
        return None
    connection = record.get("connection")
    if not isinstance(connection, str) or (now or time.time()) - at > LATE_MESSAGE_SECONDS:
        return None
    return connection
