"""Architect's inbound message flow of a Bot Connector integration: "Call Digital Bot Connector", then
"Transfer to ACD".

Each customer message while the conversation is with the bot is posted to
`{bot_uri}/botconnector/messages` with the integration's credential headers, within its response
timeout; the answer is checked strictly (bot_reply.py), its reply messages reach the customer, and
on Complete or Failed (which a bad or late answer counts as) the conversation waits in the queue,
with the intent, entities, parameters or error as the customer's participant data.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from .agent import Agent
from .bot_fetch import fetch_bot_list
from .bot_list import declared_intents, find_version
from .bot_reply import BotReply, ReplyError, check_reply
from .config import BotConnectorConfig, EmulatorConfig, QueueConfig
from .errors import EmulatorError
from .ids import message_id, new_uuid
from .messages import channel
from .routing import Router
from .state import Conversation, TranscriptEntry

log = logging.getLogger(__name__)

MESSAGES_PATH = "/botconnector/messages"
MAX_KEPT = 2000  # characters of a reply kept in the log when it is not JSON


@dataclass
class BotTurn:
    """One call of the bot: what was sent (credential values never), what came back, what it meant."""

    time: float
    integration_id: str
    conversation_id: str
    url: str
    request: dict[str, Any]
    headers: list[str]  # the credential header names sent
    status: int | None = None
    reply: Any = None  # the parsed JSON answer, or the start of a non-JSON one
    outcome: str = ""  # MoreData, Complete or Failed, as the flow took it
    problem: str | None = None  # why the emulator took the Failed path, when the bot did not say Failed
    duration: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The turn as the control route shows it."""
        return dataclasses.asdict(self)


@dataclass
class _Input:
    text: str
    button: dict[str, str] | None = None  # a quick reply the customer clicked: {text, payload}


@dataclass
class _Session:
    id: str = field(default_factory=new_uuid)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Architect:
    """The inbound message flows of every Bot Connector integration."""

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float], router: Router, agent: Agent) -> None:
        self._config = config
        self._clock = clock
        self._router = router
        self._agent = agent
        self._http: aiohttp.ClientSession | None = None
        self._sessions: dict[str, _Session] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.turns: list[BotTurn] = []

    async def start(self) -> None:
        """Open the HTTP session (called when the app starts)."""
        if self._http is None:
            self._http = aiohttp.ClientSession()

    async def close(self) -> None:
        """Cancel turns in flight and close the session."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def idle(self) -> None:
        """Wait until every bot turn has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def fetch_bots(self, connector: BotConnectorConfig) -> list[dict[str, Any]]:
        """Replace the integration's bot list by the bot's own (BotListError when it cannot be read)."""
        if self._http is None:
            raise EmulatorError("the emulator is not started")
        connector.bots = await fetch_bot_list(self._http, connector)
        return connector.bots

    def receive(
        self,
        connector: BotConnectorConfig,
        customer_id: str,
        name: str,
        text: str,
        button: dict[str, str] | None = None,
        originating_id: str | None = None,
    ) -> tuple[Conversation, TranscriptEntry]:
        """A customer message from the messenger: kept, then the bot's turn (or the agent's)."""
        store = self._router.store
        conversation = store.open_for(connector.id, customer_id)
        if button is not None:
            _check_choice(conversation, button, originating_id)
        if conversation is None:
            conversation = self._router.open_messenger(connector.id, customer_id, name)
        content = []
        if button is not None:
            content = [{"contentType": "ButtonResponse", "buttonResponse": {"type": "QuickReply", **button}}]
        entry = TranscriptEntry(id=message_id(), direction="inbound", sender="customer",
                                name=conversation.customer.name, type="Structured" if button else "Text", text=text,
                                time=self._clock(), body={"text": text, "content": content},
                                content=content)  # fmt: skip
        conversation.transcript.append(entry)
        self._router.changed(conversation)
        if conversation.with_bot:
            session = self._sessions.setdefault(conversation.id, _Session())
            turn = self._turn(connector, conversation, session, _Input(text, button), entry)
            task = asyncio.get_running_loop().create_task(turn)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self._agent.on_inbound(conversation, entry)
        return conversation, entry

    async def _turn(self, connector: BotConnectorConfig, conversation: Conversation, session: _Session,
                    given: _Input, entry: TranscriptEntry) -> None:  # fmt: skip
        async with session.lock:
            if conversation.ended is not None:
                return
            if not conversation.with_bot:
                # A turn before this one ended the bot's part: this message waits for the agent.
                self._agent.on_inbound(conversation, entry)
                return
            turn = BotTurn(time=self._clock(), integration_id=connector.id, conversation_id=conversation.id,
                           url=connector.bot_uri.rstrip("/") + MESSAGES_PATH, request={},
                           headers=sorted(connector.credentials))  # fmt: skip
            self.turns.append(turn)
            try:
                reply = await self._call(connector, conversation, session, given, turn)
            except Exception as exc:  # an emulator bug must not leave the conversation with the bot for ever
                log.exception("bot connector %s: the turn failed", connector.id)
                turn.problem = f"the emulator failed the turn: {type(exc).__name__}"
                reply = None
            if conversation.ended is not None:
                return
            if reply is None:
                turn.outcome = "Failed"
                self._finish(connector, conversation, "Failed", {"botErrorCode": "emulator.invalidReply",
                                                                "botErrorMessage": turn.problem or ""})  # fmt: skip
                return
            turn.outcome = reply.state
            for message in reply.messages:
                self._relay(connector, conversation, message, turn.request["botId"])
            if reply.state != "MoreData":
                self._finish(connector, conversation, reply.state, _attributes(reply), reply.parameters.get("queue"))

    async def _call(self, connector: BotConnectorConfig, conversation: Conversation, session: _Session,
                    given: _Input, turn: BotTurn) -> BotReply | None:  # fmt: skip
        """The bot's valid answer; None (with `turn.problem` said) for anything else."""
        bot = next((b for b in connector.bots if not connector.bot_id or b["id"] == connector.bot_id), None)
        version = find_version(bot, connector.bot_version) if bot is not None else None
        if bot is None or version is None:
            wanted = f"{connector.bot_id or '(any)'} version {connector.bot_version or '(any)'}"
            turn.problem = f"the integration's bot list has no bot {wanted}"
            return None
        if connector.language not in version["supportedLanguages"]:
            turn.problem = f"bot {bot['id']} version {version['version']} does not support {connector.language}"
            return None
        turn.request = _request(connector, conversation, session, bot["id"], version["version"], given)
        if self._http is None:
            raise EmulatorError("the emulator is not started")
        started = asyncio.get_running_loop().time()
        headers = {"Content-Type": "application/json", **connector.credentials}
        timeout = aiohttp.ClientTimeout(total=connector.response_timeout)
        try:
            # Redirects are not followed: the credential headers go to the configured URI only.
            async with self._http.post(turn.url, data=json.dumps(turn.request), headers=headers,
                                       timeout=timeout, allow_redirects=False) as response:  # fmt: skip
                turn.status = response.status
                kind = response.content_type
                raw = await response.read()
        except TimeoutError:
            turn.problem = f"no answer within the response timeout of {connector.response_timeout:g} s"
            return None
        except aiohttp.ClientError as exc:
            turn.problem = f"the bot could not be reached: {type(exc).__name__}"
            return None
        finally:
            turn.duration = round(asyncio.get_running_loop().time() - started, 3)
        try:
            turn.reply = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            turn.reply = raw[:MAX_KEPT].decode("utf-8", "replace")
            turn.problem = "the body is not JSON"
        if turn.problem is None and kind != "application/json":
            # Assumed: Genesys reads the answer as JSON only when it says it is.
            turn.problem = f"the answer's Content-Type is {kind}, not application/json"
        if turn.status != 200:
            turn.problem = f"HTTP {turn.status}; a bot answers 200"
        if turn.problem is not None:
            return None
        try:
            return check_reply(turn.reply, turn.request, declared_intents(version))
        except ReplyError as exc:
            turn.problem = str(exc)
            log.info("bot connector %s: invalid reply: %s", connector.id, exc)
            return None

    def _relay(self, connector: BotConnectorConfig, conversation: Conversation, message: dict[str, Any],
               bot_id: str) -> None:  # fmt: skip
        msg_id = message_id()
        body: dict[str, Any] = {"id": msg_id, "channel": channel(connector, conversation, msg_id, self._clock()),
                                "type": message["type"], "text": message["text"]}  # fmt: skip
        if message.get("content"):
            body["content"] = [dict(item) for item in message["content"]]
        body.update({"originatingEntity": "Bot", "direction": "Outbound", "conversationId": conversation.id})
        self._router.send(conversation, body, "bot", bot_id)

    def _finish(self, connector: BotConnectorConfig, conversation: Conversation, state: str,
                attributes: dict[str, str], queue_name: str | None = None) -> None:  # fmt: skip
        """The bot's part is over: participant data set, then Transfer to ACD."""
        conversation.customer.attributes.update({"botState": state, **attributes})
        queue = self._queue(connector, queue_name)
        if queue is None:
            conversation.with_bot = False  # no queue to transfer to: nobody will see it
            self._router.changed(conversation)
            return
        self._router.queue_conversation(conversation, queue)

    def _queue(self, connector: BotConnectorConfig, name: str | None) -> QueueConfig | None:
        return (self._config.queue_named(name or "") or self._config.queue(connector.queue_id)
                or (self._config.queues[0] if self._config.queues else None))  # fmt: skip


def _check_choice(conversation: Conversation | None, button: dict[str, str], originating_id: str | None) -> None:
    """A click must be one of the quick replies of an outbound message of the open conversation."""
    offered = None
    if conversation is not None:
        offered = next((e for e in conversation.transcript if e.direction == "outbound" and e.id == originating_id),
                       None)  # fmt: skip
    if offered is None:
        raise EmulatorError("a quick reply answers a message of the customer's open conversation")
    choices = [{"text": c["quickReply"]["text"], "payload": c["quickReply"]["payload"]}
               for c in offered.content if c.get("contentType") == "QuickReply"]  # fmt: skip
    if button not in choices:
        raise EmulatorError(f"message {originating_id} offers no quick reply {button}")


def _request(connector: BotConnectorConfig, conversation: Conversation, session: _Session, bot_id: str,
             version: str, given: _Input) -> dict[str, Any]:  # fmt: skip
    """The body of one turn (the Bot Connector request)."""
    message: dict[str, Any] = {"type": "Text", "text": given.text}
    if given.button is not None:
        button = {"type": "QuickReply", "text": given.button["text"], "payload": given.button["payload"]}
        message = {"type": "Structured", "text": given.text,
                   "content": [{"contentType": "ButtonResponse", "buttonResponse": button}]}  # fmt: skip
    body: dict[str, Any] = {
        "botId": bot_id, "botVersion": version, "botSessionId": session.id, "messageId": new_uuid(),
        "inputMessage": message, "languageCode": connector.language,
        "botSessionTimeout": connector.session_timeout, "genesysConversationId": conversation.id,
    }  # fmt: skip
    if connector.parameters:
        body["parameters"] = dict(connector.parameters)
    return body


def _attributes(reply: BotReply) -> dict[str, str]:
    """The participant data a flow would set from the action's outputs."""
    data = dict(reply.parameters)
    if reply.intent is not None:
        data["botIntent"] = reply.intent
    if reply.confidence is not None:
        data["botConfidence"] = f"{reply.confidence:g}"
    for entity in reply.entities:
        value = entity.get("value")
        data[f"botEntity.{entity['name']}"] = value if isinstance(value, str) else json.dumps(entity["values"])
    if reply.error:
        data["botErrorCode"] = reply.error["code"]
        data["botErrorMessage"] = reply.error["message"]
    return data
