"""Opening the Genesys conversation of a handover: custom attributes, first message, transcript."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from ...clock import Clock
from ...flows.engine import Endpoint, NodeApi
from ...flows.session import SessionKey
from ...genesys import GenesysError
from ...genesys.messages import inbound_text
from ...store import Store
from . import start_intents
from .connection import GenesysConnection
from .disconnects import disconnect_customer
from .settings import HandoverSettings
from .state import HandoverOptions, HandoverState
from .transcript import TranscriptBudget, transcript_messages

log = logging.getLogger("extension.handover")

# The attributes the runtime sets (docs/CONTRACT.md 6.1 step 3). A node's customAttributes cannot override
# them: Genesys routing, the agent's view and the Copilot link trust these to name the real
# user, session and queue, and a flow must not be able to point an agent at another session.
RUNTIME_ATTRIBUTES = frozenset({"userId", "sessionId", "urlToken", "queue", "queueId", "language", "skills",
                                "priority", "copilotUrl"})


class Opener(Protocol):
    """What a start needs of the provider (provider.GenesysHandover)."""

    store: Store
    settings: HandoverSettings
    clock: Clock
    # (endpoint, session key, the handover's Genesys user id) -> the Copilot link; None without Copilot.
    copilot_link: Callable[[Endpoint, SessionKey, str], str] | None


async def open_conversation(handover: Opener, api: NodeApi, conn: GenesysConnection,
                            config: dict[str, Any]) -> HandoverState:
    """Send the first message (creating the conversation) and the transcript; undo all on failure."""
    integration = await conn.integration()
    queue = await conn.queue()
    # A start of this session that never committed may have created a conversation: its user id
    # continues that conversation instead of leaving it to an agent with nobody (start_intents.py).
    user_id = await start_intents.reusable_user_id(handover.store, api.key.id) or f"h-{uuid.uuid4().hex}"
    state = HandoverState(
        connection=conn.name, genesys_user_id=user_id, conversation_id="",
        integration_id=integration.id, queue_id=queue.id, queue_name=queue.name, started_at=handover.clock.time(),
        options=HandoverOptions(
            accepted_message=config.get("handoverAcceptedMessage") or "",
            repeat_accepted_message=bool(config.get("repeatHandoverMessage")),
            cancel_text=(config.get("cancelText") or "").strip(),
            cancel_button_text=config.get("cancelButtonText") or None,
            send_resolve_event=bool(config.get("sendResolveEvent", True)),
            send_active_event=bool(config.get("sendActiveEvent")),
        ),
    )
    settings = handover.settings
    budget = TranscriptBudget(settings.transcript_max_messages, settings.transcript_max_chars)
    texts = transcript_messages(api.transcript, budget=budget) if config.get("sendTranscript", True) else []
    if not texts:
        texts = [api.input.get("text") or "The customer asked to talk to an agent."]
    profile = api.profile if conn.send_profile else {}
    first = inbound_text(
        state.new_message_id(), state.genesys_user_id, texts[0],
        custom_attributes=attributes(handover, api, config, state),
        first_name=profile.get("firstName"), last_name=profile.get("lastName"),
        email=profile.get("email"), nickname=profile.get("nickname"),
    )
    store = handover.store
    intent = await start_intents.begin(store, user_id, conn.name, api.key.id, handover.clock.time())
    try:
        answer = await conn.client.send_inbound_message(integration.id, first, prefetch_conversation_id=True)
        conversation_id = answer.get("conversationId")
        if not isinstance(conversation_id, str) or not conversation_id:
            raise GenesysError("the inbound message answer carried no conversationId")
    except Exception as exc:
        # A send that timed out or failed in Genesys may still have created the conversation, whose id
        # is unknown then: the record stays so that the next handover continues it (start_intents.py).
        if _refused(exc):
            await start_intents.abandon(store, user_id, None)
        raise
    state.conversation_id = conversation_id
    try:
        await start_intents.opened(store, user_id, intent, conversation_id)
        for text in texts[1:]:
            body = inbound_text(state.new_message_id(), user_id, text)
            await conn.client.send_inbound_message(integration.id, body, prefetch_conversation_id=False)
    except Exception:
        await _undo(handover, conn, state)
        raise
    return state


def _refused(exc: BaseException) -> bool:
    """Genesys answered the first message with a 4xx: no conversation was created."""
    status = getattr(exc, "status", None)
    return isinstance(exc, GenesysError) and isinstance(status, int) and 400 <= status < 500


async def _undo(handover: Opener, conn: GenesysConnection, state: HandoverState) -> None:
    """The conversation exists but the start failed: end it, so no agent takes it for nobody."""
    try:
        await disconnect_customer(handover.store, conn, state.conversation_id, "failed handover start")
        await start_intents.abandon(handover.store, state.genesys_user_id, state.conversation_id)
    except Exception as exc:  # the intent stays; recovery disconnects the conversation later
        log.warning("failed handover start of conversation %s not cleaned up yet: %s", state.conversation_id, exc)


def attributes(handover: Opener, api: NodeApi, config: dict[str, Any],
               state: HandoverState) -> dict[str, str]:
    """The node's customAttributes plus the runtime's own, which always win (all strings)."""
    key = api.key
    node = {str(k): str(v) for k, v in (config.get("customAttributes") or {}).items() if v is not None}
    ignored = sorted(node.keys() & RUNTIME_ATTRIBUTES)
    if ignored:
        log.warning("customAttributes %s are set by the runtime; the node's values are ignored", ", ".join(ignored))
    own = {
        "userId": key.user_id, "sessionId": key.session_id, "urlToken": key.url_token,
        "queue": state.queue_name, "queueId": state.queue_id,
        # Always present, "" when unset, so a Genesys flow reading them never finds them missing.
        "language": str(config.get("language") or ""),
        "skills": ",".join(str(s) for s in config.get("skills") or []),
        "priority": _priority(config.get("priority")),
    }
    if handover.copilot_link is not None and api.endpoint.settings.get("copilotUrl"):
        own["copilotUrl"] = handover.copilot_link(api.endpoint, key, state.genesys_user_id)
    return {**{k: v for k, v in node.items() if k not in RUNTIME_ATTRIBUTES}, **own}


def _priority(value: Any) -> str:
    if value is None or value == "":
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)
