"""The state of one Genesys handover, kept in the session document (so it is stored with turns)."""

from __future__ import annotations

import time
from dataclasses import MISSING, dataclass, field, fields
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
# The last handovers of a session that ended (their ENDED records with the status), newest last:
# a Copilot link made for one of them shows the conversation as it was when it ended.
ENDED_HISTORY = "genesysOM.endedHandovers"
# The Genesys ids of the last agent messages that offered quick replies: a choice answering one of
# them goes back to Genesys as a structured response.
QUICK_REPLY_OFFERS = "genesysOM.quickReplyOffers"
QUICK_REPLY_OFFERS_KEPT = 20
# The user's last messages Genesys took, by the id it gave each ({id, text}): a Failed receipt
# about one of them names it to the user.
SENT_MESSAGES = "genesysOM.sentMessages"
SENT_MESSAGES_KEPT = 20
# Failed receipts that came before the outbox stored the id of their message (receipts.py).
PARKED_FAILURES = "genesysOM.parkedFailures"
ENDED_HISTORY_LIMIT = 20
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
    # The user was told that the agent's replies fail their signature (signature_alarm.py).
    signature_notified: bool = False
    pending_end_at: float | None = None
    # The session's send budget (budget.py): tokens left at send_at, None for a full bucket.
    send_tokens: float | None = None
    send_at: float = 0.0

    def to_doc(self) -> dict[str, Any]:
        """The stored form: what differs from the defaults (from_doc restores those), as every
        handover is stored with every turn of its session and kept while it lasts."""
        # Shallow on purpose (the doc is encoded right away); dataclasses.asdict deep-copies.
        doc = {"provider": PROVIDER, **_changed(vars(self), _STATE_DEFAULTS)}
        options = _changed(vars(self.options), _OPTION_DEFAULTS)
        if options:
            doc["options"] = options
        else:
            doc.pop("options", None)
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> HandoverState | None:
        if not doc or doc.get("provider") != PROVIDER:
            return None
        values = {k: v for k, v in doc.items() if k != "provider"}
        values["options"] = HandoverOptions(**values.get("options", {}))
        values["outbox"] = _one_attachment_each(values.get("outbox") or [])
        return cls(**values)

    def new_message_id(self) -> str:
        """A stable `channel.messageId` for the next user message of this handover."""
        message_id = f"{self.genesys_user_id}-{self.next_message_no}"
        self.next_message_no += 1
        return message_id

    def ended_record(self, at: float) -> dict[str, Any]:
        """What the session keeps of this handover once it has ended at wall time `at` (see ENDED)."""
        return {"userId": self.genesys_user_id, "connection": self.connection,
                "conversationId": self.conversation_id, "at": at}


def _defaults(cls: type) -> dict[str, Any]:
    """The fields of a dataclass that have a plain default value (not a factory)."""
    return {f.name: f.default for f in fields(cls) if f.default is not MISSING}


def _changed(values: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items()
            if not (k in defaults and v == defaults[k] and type(v) is type(defaults[k])) and v != []}


_OPTION_DEFAULTS = _defaults(HandoverOptions)
_STATE_DEFAULTS = _defaults(HandoverState)


def ended_history(previous: Any, state: HandoverState, status: str, at: float) -> list[dict[str, Any]]:
    """The session's ENDED_HISTORY with this handover's end (at wall time `at`) appended."""
    kept = [r for r in previous if isinstance(r, dict)] if isinstance(previous, list) else []
    return [*kept, {**state.ended_record(at), "status": status}][-ENDED_HISTORY_LIMIT:]


def ended_recently(record: Any, genesys_user_id: str | None, now: float) -> str | None:
    """The connection of an ENDED record for this Genesys user id while it is recent, else None."""
    if not isinstance(record, dict) or not genesys_user_id or record.get("userId") != genesys_user_id:
        return None
    try:
        at = float(record.get("at", 0.0))
    except (TypeError, ValueError):
        return None
    connection = record.get("connection")
    if not isinstance(connection, str) or now - at > LATE_MESSAGE_SECONDS:
        return None
    return connection


def _one_attachment_each(outbox: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An outbox stored before attachments went one per message, split the way Genesys takes them.

    The extra items get ids derived from their item's, so every replica and every restart sends
    them under the same `channel.messageId`.
    """
    if all(len(item.get("attachments") or []) <= 1 for item in outbox):
        return outbox
    items: list[dict[str, Any]] = []
    for item in outbox:
        first, *rest = item.get("attachments") or [None]
        items.append({**item, "attachments": [first] if first else []})
        items += [{"messageId": f"{item['messageId']}.{n}", "text": "", "attachments": [one],
                   "queuedAt": item.get("queuedAt", 0)} for n, one in enumerate(rest, start=2)]
    return items
