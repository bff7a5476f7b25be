"""Conversations, their participants and transcripts, and the store that indexes them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import UnknownConversation
from .ids import new_uuid

# Conversation states as the emulator (and its agent console) names them.
UNROUTED = "unrouted"  # no message flow linked to the integration: nobody will ever see it
WAITING = "waiting"  # in a queue, no agent yet
ACTIVE = "active"  # an agent is connected
ENDED = "ended"
BOT = "bot"  # in the inbound message flow, talking to a Bot Connector bot (architect.py)

OPEN_MESSAGING = "open"  # the customer writes through an Open Messaging integration (its webhook)
MESSENGER = "messenger"  # the customer writes on the emulator's messenger page (messenger.py)


@dataclass
class Participant:
    """One participant of a message conversation, as the conversations API shows it."""

    purpose: str  # customer, acd, agent
    name: str
    state: str  # alerting, connected, disconnected
    start_time: float
    id: str = field(default_factory=new_uuid)
    session_id: str = field(default_factory=new_uuid)
    connected_time: float | None = None
    end_time: float | None = None
    disconnect_type: str | None = None  # lowercase here, as the conversations API writes it
    user_id: str | None = None
    queue_id: str | None = None
    address: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def connected(self) -> bool:
        """True while the participant takes part."""
        return self.state == "connected"

    def disconnect(self, now: float, disconnect_type: str) -> None:
        """Leave the conversation (idempotent)."""
        if self.state != "disconnected":
            self.state = "disconnected"
            self.end_time = now
            self.disconnect_type = disconnect_type


@dataclass
class TranscriptEntry:
    """One message of the conversation, either direction."""

    id: str  # the Genesys message id
    direction: str  # "inbound" (customer) or "outbound" (agent or flow)
    sender: str  # "customer", "agent" or "bot"
    name: str  # customer nickname, agent name or flow name
    type: str  # Text, Structured, Event
    text: str | None
    time: float
    body: dict[str, Any]  # the body as received, or as sent on the webhook
    content: list[dict[str, Any]] = field(default_factory=list)
    message_id: str | None = None  # the caller's channel.messageId (inbound only)
    duplicate: bool = False  # an inbound message reusing an earlier channel.messageId
    receipts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Conversation:
    """A Genesys message conversation for one end user of one integration."""

    integration_id: str
    customer: Participant
    customer_id: str  # channel.from.id
    customer_id_type: str
    customer_profile: dict[str, Any]
    created: float
    queue_id: str | None = None
    routed: bool = True
    channel: str = OPEN_MESSAGING
    with_bot: bool = False  # the inbound message flow is still calling the bot
    id: str = field(default_factory=new_uuid)
    ended: float | None = None
    participants: list[Participant] = field(default_factory=list)
    transcript: list[TranscriptEntry] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # inbound events (Typing)

    @property
    def state(self) -> str:
        """bot, unrouted, waiting, active or ended."""
        if self.ended is not None:
            return ENDED
        if self.agent is not None:
            return ACTIVE
        if self.with_bot:
            return BOT
        return WAITING if self.routed else UNROUTED

    @property
    def agent(self) -> Participant | None:
        """The connected agent, if any."""
        return next((p for p in self.participants if p.purpose == "agent" and p.connected), None)

    @property
    def ringing(self) -> Participant | None:
        """The agent the conversation is offered to (alerting), if any."""
        return next((p for p in self.participants if p.purpose == "agent" and p.state == "alerting"), None)

    @property
    def acd(self) -> Participant | None:
        """The connected queue participant, if any."""
        return next((p for p in self.participants if p.purpose == "acd" and p.connected), None)

    @property
    def attributes(self) -> dict[str, str]:
        """The participant data (custom attributes) of the customer."""
        return self.customer.attributes

    def participant(self, participant_id: str) -> Participant | None:
        """The participant with this id, if any."""
        return next((p for p in self.participants if p.id == participant_id), None)


class ConversationStore:
    """All conversations, with the index Genesys keeps: one open conversation per end user."""

    def __init__(self) -> None:
        self._by_id: dict[str, Conversation] = {}
        self._open: dict[tuple[str, str], str] = {}

    def __iter__(self) -> Iterator[Conversation]:
        return iter(list(self._by_id.values()))

    def __len__(self) -> int:
        return len(self._by_id)

    def add(self, conversation: Conversation) -> None:
        """Store a new, open conversation."""
        self._by_id[conversation.id] = conversation
        self._open[(conversation.integration_id, conversation.customer_id)] = conversation.id

    def get(self, conversation_id: str) -> Conversation | None:
        """The conversation with this id, if any."""
        return self._by_id.get(conversation_id)

    def require(self, conversation_id: str) -> Conversation:
        """The conversation with this id; UnknownConversation otherwise."""
        conversation = self._by_id.get(conversation_id)
        if conversation is None:
            raise UnknownConversation(conversation_id)
        return conversation

    def open_for(self, integration_id: str, customer_id: str) -> Conversation | None:
        """The conversation this end user is still in, if any."""
        conversation_id = self._open.get((integration_id, customer_id))
        return self._by_id.get(conversation_id) if conversation_id else None

    def close(self, conversation: Conversation) -> None:
        """Forget the open index entry: the next inbound message opens a new conversation."""
        key = (conversation.integration_id, conversation.customer_id)
        if self._open.get(key) == conversation.id:
            del self._open[key]

    def in_state(self, state: str) -> list[Conversation]:
        """Conversations in this state, oldest first."""
        return [c for c in self._by_id.values() if c.state == state]

    def find_outbound(self, integration_id: str, message_id: str) -> TranscriptEntry | None:
        """The agent or flow message with this id sent through this integration."""
        for conversation in self._by_id.values():
            if conversation.integration_id != integration_id:
                continue
            for entry in conversation.transcript:
                if entry.direction == "outbound" and entry.id == message_id:
                    return entry
        return None
