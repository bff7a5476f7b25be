"""What Genesys does with a conversation: open it, queue it, hand it to agents, end it, and tell."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .channels import NotificationHub
from .config import EmulatorConfig, IntegrationConfig, QueueConfig
from .errors import EmulatorError, InvalidState
from .ids import message_id, millis, user_id_for
from .messages import Sender
from .messenger import MessengerFeed
from .queue_events import QueueEvents
from .state import ENDED, MESSENGER, Conversation, ConversationStore, Participant, TranscriptEntry
from .webhooks import WebhookDelivery, WebhookSender

TOPIC = "v2.detail.events.conversation.{conversation_id}.{event}"


def topic(conversation_id: str, event: str) -> str:
    """The notification topic of one detail event of one conversation."""
    return TOPIC.format(conversation_id=conversation_id, event=event)


def display_name(profile: dict[str, Any]) -> str:
    """How an agent sees the end user."""
    full = " ".join(str(profile[k]) for k in ("firstName", "lastName") if profile.get(k))
    return str(profile.get("nickname") or full or profile.get("id") or "Customer")


class Router:
    """The conversation lifecycle, its notification events and its outbound messages."""

    def __init__(
        self,
        config: EmulatorConfig,
        clock: Callable[[], float],
        store: ConversationStore,
        hub: NotificationHub,
        sender: WebhookSender,
        messenger: MessengerFeed,
    ) -> None:
        self._config = config
        self._clock = clock
        self._store = store
        self._hub = hub
        self._sender = sender
        self._messenger = messenger
        self._queues = QueueEvents(config, hub)

    @property
    def store(self) -> ConversationStore:
        """The conversations."""
        return self._store

    def changed(self, conversation: Conversation) -> None:
        """Tell the messenger page that the conversation changed."""
        self._messenger.notify(conversation.id)

    # Inbound, from the middleware ------------------------------------------------------------

    def receive_message(
        self, integration: IntegrationConfig, body: dict[str, Any]
    ) -> tuple[Conversation, TranscriptEntry]:
        """Record a validated inbound message in the end user's open (or a new) conversation."""
        channel = body["channel"]
        sender = channel["from"]
        attributes = dict(channel.get("metadata", {}).get("customAttributes", {}))
        conversation = self._store.open_for(integration.id, sender["id"])
        if conversation is None:
            conversation = self._open(integration, sender, attributes)
        else:
            conversation.customer.attributes.update(attributes)
        caller_id = channel.get("messageId")
        duplicate = caller_id is not None and any(
            e.message_id == caller_id for e in conversation.transcript if e.direction == "inbound"
        )
        entry = TranscriptEntry(
            id=message_id(),
            direction="inbound",
            sender="customer",
            name=conversation.customer.name,
            type="Text",
            text=body.get("text"),
            time=self._clock(),
            body=body,
            content=list(body.get("content", [])),
            message_id=caller_id,
            duplicate=duplicate,
        )
        conversation.transcript.append(entry)
        return conversation, entry

    def receive_structured_response(
        self, integration: IntegrationConfig, body: dict[str, Any]
    ) -> tuple[Conversation, TranscriptEntry]:
        """Record a customer's choice of a quick reply or button an agent message offered.

        Part of an existing conversation only, answering one of its outbound messages
        (InvalidState otherwise): a choice nobody offered has nothing to answer.
        """
        channel = body["channel"]
        conversation = self._store.open_for(integration.id, channel["from"]["id"])
        if conversation is None:
            raise InvalidState("a structured response needs an open conversation of this customer")
        originating = body["originatingMessageId"]
        if not any(e.direction == "outbound" and e.id == originating for e in conversation.transcript):
            raise InvalidState(f"originatingMessageId {originating} is no message of this conversation")
        response = body["buttonResponse"]
        entry = TranscriptEntry(
            id=message_id(),
            direction="inbound",
            sender="customer",
            name=conversation.customer.name,
            type="Structured",
            text=response["text"],
            time=self._clock(),
            body=body,
            content=[{"contentType": "ButtonResponse", "buttonResponse": dict(response)}],
            message_id=channel.get("messageId"),
        )
        conversation.transcript.append(entry)
        return conversation, entry

    def receive_event(self, integration: IntegrationConfig, body: dict[str, Any]) -> None:
        """Record a validated inbound Typing event on the end user's open conversation."""
        conversation = self._store.open_for(integration.id, body["channel"]["from"]["id"])
        if conversation is not None:
            conversation.events.append({"time": self._clock(), "body": body})

    def receive_receipt(self, integration: IntegrationConfig, body: dict[str, Any]) -> bool:
        """Attach a validated receipt to the agent message it is about; False when unknown."""
        entry = self._store.find_outbound(integration.id, body["id"])
        if entry is None:
            return False
        entry.receipts.append({"time": self._clock(), **body})
        return True

    def _open(
        self, integration: IntegrationConfig, sender: dict[str, Any], attributes: dict[str, str]
    ) -> Conversation:
        now = self._clock()
        customer = Participant(
            purpose="customer",
            name=display_name(sender),
            state="connected",
            start_time=now,
            connected_time=now,
            address=sender["id"],
            attributes=attributes,
        )
        queue = self._choose_queue(attributes)
        # Without a linked inbound message flow nothing routes the conversation: it never reaches a
        # queue. (What Genesys then does with the messages is not documented.)
        routed = integration.linked and queue is not None
        conversation = Conversation(
            integration_id=integration.id,
            customer=customer,
            customer_id=sender["id"],
            customer_id_type=sender["idType"],
            customer_profile=dict(sender),
            created=now,
            queue_id=queue.id if queue is not None else None,
            routed=routed,
            participants=[customer],
        )
        if routed and queue is not None:
            conversation.participants.append(
                Participant(
                    purpose="acd",
                    name=queue.name,
                    state="connected",
                    start_time=now,
                    connected_time=now,
                    queue_id=queue.id,
                )
            )
        self._store.add(conversation)
        self._queues.changed_soon(conversation)
        return conversation

    def open_messenger(self, integration_id: str, customer_id: str, name: str) -> Conversation:
        """A new conversation of a messenger customer, in the integration's inbound message flow."""
        now = self._clock()
        customer = Participant(purpose="customer", name=name, state="connected", start_time=now,
                               connected_time=now, address=customer_id)  # fmt: skip
        conversation = Conversation(
            integration_id=integration_id, customer=customer, customer_id=customer_id,
            customer_id_type="Opaque", customer_profile={"id": customer_id, "nickname": name},
            created=now, routed=False, channel=MESSENGER, with_bot=True, participants=[customer],
        )  # fmt: skip
        self._store.add(conversation)
        return conversation

    def queue_conversation(self, conversation: Conversation, queue: QueueConfig) -> None:
        """The flow's Transfer to ACD: the conversation waits in the queue for an agent."""
        now = self._clock()
        conversation.with_bot = False
        conversation.routed = True
        conversation.queue_id = queue.id
        conversation.participants.append(Participant(purpose="acd", name=queue.name, state="connected",
                                                     start_time=now, connected_time=now, queue_id=queue.id))
        self._messenger.notify(conversation.id)
        self._queues.changed_soon(conversation)

    def _choose_queue(self, attributes: dict[str, str]) -> QueueConfig | None:
        by_id = self._config.queue(attributes.get("queueId", ""))
        if by_id is not None:
            return by_id
        by_name = self._config.queue_named(attributes.get("queue", ""))
        if by_name is not None:
            return by_name
        return self._config.queues[0] if self._config.queues else None

    # Agent side ------------------------------------------------------------------------------

    def open_conversation(self, conversation_id: str) -> Conversation:
        """The conversation, which must not have ended."""
        conversation = self._store.require(conversation_id)
        if conversation.state == ENDED:
            raise InvalidState(f"conversation {conversation_id} has ended")
        return conversation

    async def offer(self, conversation_id: str, agent: str) -> Participant:
        """The queue offers the conversation to an agent: it rings (alerting), still queued."""
        conversation = self._queued(conversation_id)
        participant = self.join(conversation, agent, self._clock(), state="alerting")
        if self._config.user_start_on == "alerting":
            await self.emit(conversation, "user.start", participant)
        await self._queues.changed(conversation)
        return participant

    async def accept(self, conversation_id: str, agent: str) -> Participant:
        """An agent answers a queued conversation: the one ringing at them, or at once (user.start)."""
        conversation = self.open_conversation(conversation_id)
        ringing = conversation.ringing
        if ringing is not None and ringing.name != agent:
            raise InvalidState(f"conversation {conversation_id} rings at {ringing.name}")
        if ringing is None:
            # Not offered first: ring and answer come at once (one user.start, agent connected).
            self._queued(conversation_id)
        now = self._clock()
        acd = conversation.acd
        if acd is not None:
            acd.disconnect(now, "transfer")
        if ringing is None:
            participant = self.join(conversation, agent, now)
            await self.emit(conversation, "user.start", participant)
            await self._queues.changed(conversation)
            return participant
        ringing.state = "connected"
        ringing.connected_time = now
        if self._config.user_start_on == "accept":
            await self.emit(conversation, "user.start", ringing)
        await self._queues.changed(conversation)
        return ringing

    async def ring_timeout(self, conversation_id: str) -> None:
        """The ringing agent does not answer in time: user.end NO_ANSWER_TRANSFER, back to the queue."""
        conversation = self.open_conversation(conversation_id)
        participant = conversation.ringing
        if participant is None:
            raise InvalidState(f"conversation {conversation_id} is not ringing at an agent")
        participant.disconnect(self._clock(), "transfer.noanswer")
        # With user.start on accept, Genesys would not have told about this agent at all.
        if self._config.user_start_on == "alerting":
            await self.emit(conversation, "user.end", participant, "NO_ANSWER_TRANSFER")
        await self._queues.changed(conversation)

    async def transfer(self, conversation_id: str, to_agent: str) -> Participant:
        """The agent hands over to another agent: user.end TRANSFER, then user.start."""
        conversation = self.open_conversation(conversation_id)
        current = self._require_agent(conversation)
        now = self._clock()
        current.disconnect(now, "transfer")
        await self.emit(conversation, "user.end", current, "TRANSFER")
        participant = self.join(conversation, to_agent, self._clock())
        await self.emit(conversation, "user.start", participant)
        await self._queues.changed(conversation)
        return participant

    async def transfer_to_queue(self, conversation_id: str, queue: QueueConfig) -> Participant:
        """The agent hands over to another queue: user.end TRANSFER, the conversation waits there."""
        conversation = self.open_conversation(conversation_id)
        current = self._require_agent(conversation)
        now = self._clock()
        current.disconnect(now, "transfer")
        conversation.queue_id = queue.id
        acd = Participant(purpose="acd", name=queue.name, state="connected", start_time=now,
                          connected_time=now, queue_id=queue.id)
        conversation.participants.append(acd)
        await self.emit(conversation, "user.end", current, "TRANSFER")
        await self._queues.changed(conversation)
        return acd

    async def end(self, conversation_id: str) -> None:
        """The agent ends the conversation: user.end CLIENT, then acw."""
        conversation = self.open_conversation(conversation_id)
        agent = self._require_agent(conversation)
        now = self._clock()
        agent.disconnect(now, "client")
        self._finish(conversation, now, "peer")
        await self.emit(conversation, "user.end", agent, "CLIENT")
        await self.emit(conversation, "acw", agent)
        await self._queues.changed(conversation)

    async def customer_end(self, conversation_id: str) -> None:
        """The end user leaves (PATCH of the customer participant): customer.end."""
        conversation = self.open_conversation(conversation_id)
        now = self._clock()
        conversation.customer.disconnect(now, "client")
        self._finish(conversation, now, "peer")
        await self.emit(conversation, "customer.end", conversation.customer, "CLIENT")
        await self._queues.changed(conversation)

    def send(
        self,
        conversation: Conversation,
        body: dict[str, Any],
        sender: str,
        name: str,
        record: bool = True,
    ) -> WebhookDelivery:
        """Post an outbound message on the integration's webhook (or to the messenger page); keep it."""
        if record:
            conversation.transcript.append(
                TranscriptEntry(
                    id=str(body["id"]),
                    direction="outbound",
                    sender=sender,
                    name=name,
                    type=str(body["type"]),
                    text=body.get("text"),
                    time=self._clock(),
                    body=body,
                    content=list(body.get("content", [])),
                )
            )
        if conversation.channel == MESSENGER:
            return self._messenger.deliver(conversation, body)
        return self._sender.send(self.integration_of(conversation), conversation.id, body)

    def sender_of(self, conversation: Conversation) -> Sender:
        """The integration outbound messages of this conversation come from."""
        if conversation.channel == MESSENGER:
            connector = self._config.bot_connector(conversation.integration_id)
            if connector is None:
                raise EmulatorError(f"bot connector {conversation.integration_id} was removed")
            return connector
        return self.integration_of(conversation)

    def integration_of(self, conversation: Conversation) -> IntegrationConfig:
        """The integration the conversation came through."""
        integration = self._config.integration(conversation.integration_id)
        if integration is None:
            raise EmulatorError(f"integration {conversation.integration_id} was removed")
        return integration

    async def emit(
        self,
        conversation: Conversation,
        event: str,
        participant: Participant,
        disconnect_type: str | None = None,
    ) -> None:
        """Publish one analytics detail event of the conversation."""
        self._messenger.notify(conversation.id)
        body: dict[str, Any] = {
            "eventTime": millis(self._clock()),
            "conversationId": conversation.id,
            "participantId": participant.id,
            "sessionId": participant.session_id,
            "mediaType": "MESSAGE",
            "messageType": "OPEN",
            "direction": "INBOUND",
        }
        if disconnect_type is not None:
            body["disconnectType"] = disconnect_type
        # The customer.end event carries no user or queue (see the SDK's CustomerEndEvent model).
        if participant.purpose == "agent":
            body["userId"] = participant.user_id
            if conversation.queue_id is not None:
                body["queueId"] = conversation.queue_id
                queue = self._config.queue(conversation.queue_id)
                if queue is not None:
                    body["divisionId"] = queue.division_id
        await self._hub.publish(topic(conversation.id, event), body)

    def join(self, conversation: Conversation, agent: str, now: float, state: str = "connected") -> Participant:
        participant = Participant(
            purpose="agent",
            name=agent,
            state=state,
            start_time=now,
            connected_time=now if state == "connected" else None,
            user_id=user_id_for(agent),
            queue_id=conversation.queue_id,
        )
        conversation.participants.append(participant)
        return participant

    def _queued(self, conversation_id: str) -> Conversation:
        """The conversation, waiting in a queue with no agent connected or ringing."""
        conversation = self.open_conversation(conversation_id)
        if not conversation.routed:
            raise InvalidState(f"conversation {conversation_id} was never routed to a queue")
        if conversation.agent is not None or conversation.ringing is not None:
            raise InvalidState(f"conversation {conversation_id} already has an agent")
        return conversation

    def _require_agent(self, conversation: Conversation) -> Participant:
        agent = conversation.agent
        if agent is None:
            raise InvalidState(f"conversation {conversation.id} has no connected agent")
        return agent

    def _finish(self, conversation: Conversation, now: float, others: str) -> None:
        for participant in conversation.participants:
            participant.disconnect(now, others)
        conversation.ended = now
        self._store.close(conversation)
