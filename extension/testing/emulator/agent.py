"""The agent's side of the emulator, for tests and for the agent console."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .config import EmulatorConfig
from .errors import EmulatorError, InvalidState
from .messages import Attachment, QuickReply, agent_message, typing_event
from .routing import Router
from .state import ACTIVE, WAITING, Conversation, ConversationStore, Participant, TranscriptEntry
from .webhooks import WebhookDelivery

log = logging.getLogger(__name__)


class Agent:
    """Agents answering conversations: each call acts like one click in the Genesys agent UI.

    The message-sending calls return the webhook delivery; with `wait=True` (the default) they
    return once it was delivered or given up after the retries.
    """

    def __init__(
        self,
        config: EmulatorConfig,
        clock: Callable[[], float],
        store: ConversationStore,
        router: Router,
    ) -> None:
        self._config = config
        self._clock = clock
        self._store = store
        self._router = router
        self._tasks: set[asyncio.Task[None]] = set()

    def conversations(self) -> list[Conversation]:
        """Every conversation, oldest first."""
        return list(self._store)

    def waiting(self) -> list[Conversation]:
        """Conversations in a queue that no agent has accepted yet."""
        return self._store.in_state(WAITING)

    def active(self) -> list[Conversation]:
        """Conversations with a connected agent."""
        return self._store.in_state(ACTIVE)

    def get(self, conversation_id: str) -> Conversation:
        """One conversation; UnknownConversation otherwise."""
        return self._store.require(conversation_id)

    async def ring(self, conversation_id: str, agent: str = "Anna") -> Participant:
        """Offer a waiting conversation to an agent: it rings (user.start, unless on accept)."""
        return await self._router.offer(conversation_id, agent)

    async def accept(self, conversation_id: str, agent: str = "Anna") -> Participant:
        """Answer a waiting conversation, ringing at the agent first if it is not yet."""
        return await self._router.accept(conversation_id, agent)

    async def ring_timeout(self, conversation_id: str) -> None:
        """The ringing agent lets it time out: user.end NO_ANSWER_TRANSFER, back to the queue."""
        await self._router.ring_timeout(conversation_id)

    async def reply(
        self,
        conversation_id: str,
        text: str | None = None,
        *,
        attachments: Sequence[Attachment] = (),
        quick_replies: Sequence[QuickReply] = (),
        rich: Sequence[Mapping[str, Any]] = (),
        wait: bool = True,
    ) -> WebhookDelivery:
        """Send a message as the connected agent (Structured when it has quick replies or rich content)."""
        conversation = self._router.open_conversation(conversation_id)
        agent = conversation.agent
        if agent is None:
            raise EmulatorError(f"conversation {conversation_id} has no connected agent")
        if not text and not attachments and not rich:
            raise EmulatorError("a reply needs text, an attachment or rich content")
        body = agent_message(
            self._router.sender_of(conversation),
            conversation,
            self._clock(),
            text,
            attachments=attachments,
            quick_replies=quick_replies,
            rich=rich,
        )
        return await self._send(conversation, body, "agent", agent.name, wait)

    async def typing(self, conversation_id: str, *, wait: bool = True) -> WebhookDelivery:
        """Show the end user that the agent is typing (an Event webhook)."""
        conversation = self._router.open_conversation(conversation_id)
        agent = conversation.agent
        if agent is None:
            raise EmulatorError(f"conversation {conversation_id} has no connected agent")
        body = typing_event(
            self._router.sender_of(conversation), conversation, self._clock()
        )
        return await self._send(conversation, body, "agent", agent.name, wait, record=False)

    async def flow_message(
        self, conversation_id: str, text: str, *, wait: bool = True
    ) -> WebhookDelivery:
        """A message from the Architect flow (originatingEntity Bot), such as "Connected"."""
        conversation = self._router.open_conversation(conversation_id)
        body = agent_message(
            self._router.sender_of(conversation),
            conversation,
            self._clock(),
            text,
            originating_entity="Bot",
        )
        return await self._send(conversation, body, "bot", "flow", wait)

    async def end(self, conversation_id: str) -> None:
        """The agent disconnects: user.end (CLIENT), then acw."""
        await self._router.end(conversation_id)

    async def transfer(self, conversation_id: str, to_agent: str) -> Participant:
        """Blind transfer to another agent: user.end (TRANSFER), then user.start."""
        return await self._router.transfer(conversation_id, to_agent)

    async def transfer_to_queue(self, conversation_id: str, queue: str) -> Participant:
        """Blind transfer to another queue (its id or name): user.end (TRANSFER), waiting there."""
        found = self._config.queue(queue) or self._config.queue_named(queue)
        if found is None:
            raise InvalidState(f"no queue {queue!r}")
        return await self._router.transfer_to_queue(conversation_id, found)

    async def customer_end(self, conversation_id: str) -> None:
        """The end user's side disconnects: customer.end."""
        await self._router.customer_end(conversation_id)

    def transcript(self, conversation_id: str) -> list[TranscriptEntry]:
        """Both sides' messages in order."""
        return list(self._store.require(conversation_id).transcript)

    def on_inbound(self, conversation: Conversation, entry: TranscriptEntry) -> None:
        """Called for each inbound message: the auto-reply agent answers when enabled."""
        if not self._config.auto_reply or not conversation.routed:
            return
        task = asyncio.get_running_loop().create_task(self._auto_reply(conversation, entry))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop auto-replies in flight."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _auto_reply(self, conversation: Conversation, entry: TranscriptEntry) -> None:
        try:
            if conversation.agent is None:
                await self.accept(conversation.id, self._config.auto_reply_agent)
            text = self._config.auto_reply_template.format(text=entry.text or "")
            await self.reply(conversation.id, text, wait=False)
        except EmulatorError as exc:  # the conversation ended meanwhile
            log.debug("auto-reply skipped: %s", exc)

    async def _send(
        self,
        conversation: Conversation,
        body: dict[str, Any],
        sender: str,
        name: str,
        wait: bool,
        record: bool = True,
    ) -> WebhookDelivery:
        delivery = self._router.send(conversation, body, sender, name, record=record)
        if wait:
            await delivery.wait()
        return delivery
