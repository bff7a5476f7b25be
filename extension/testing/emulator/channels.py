"""Notification channels: subscriptions, their WebSockets, heartbeats, expiry, event fan-out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .config import EmulatorConfig
from .ids import new_uuid, token

HEARTBEAT_TOPIC = "channel.metadata"
SOCKET_CLOSING_TOPIC = "v2.system.socket_closing"


# The permission each topic family needs. Assumed for the conversation detail events and the queue
# conversation topics (a real org lists them at GET /api/v2/notifications/availabletopics,
# `requiresPermissions`).
TOPIC_PERMISSIONS = (
    ("v2.detail.events.conversation.", "analytics:conversationDetail:view"),
    ("v2.routing.queues.", "routing:queue:view"),
)


def missing_for(topic: str, lacking: list[str]) -> list[str]:
    """The permissions of `lacking` that subscribing to `topic` needs."""
    return [permission for prefix, permission in TOPIC_PERMISSIONS
            if topic.startswith(prefix) and permission in lacking]


class LimitError(ValueError):
    """A channel or topic limit was reached."""


@dataclass
class Channel:
    """One notification channel of one OAuth client."""

    id: str
    client_id: str
    created: float
    expires_at: float
    topics: list[str] = field(default_factory=list)
    socket: web.WebSocketResponse | None = field(default=None, repr=False)
    last_used: float = 0.0  # created, subscribed or connected

    @property
    def connected(self) -> bool:
        """True while a WebSocket is open on the channel."""
        return self.socket is not None and not self.socket.closed


@dataclass
class PublishedEvent:
    """One topic event and the channels it reached."""

    topic: str
    body: dict[str, Any]
    time: float
    delivered_to: list[str] = field(default_factory=list)
    dropped: bool = False  # lost on purpose (fault injection)


@dataclass
class SentFrame:
    """One frame written on a channel's WebSocket."""

    channel_id: str
    frame: dict[str, Any]
    time: float


class NotificationHub:
    """All channels, and the fan-out of topic events to the sockets subscribed to them."""

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float]) -> None:
        self._config = config
        self._clock = clock
        self.channels: dict[str, Channel] = {}
        self.published: list[PublishedEvent] = []
        self.frames: list[SentFrame] = []
        self.drops_pending = 0  # fault: lose the next N topic events
        self.evicted: list[Channel] = []  # removed to make room for a client's newer channel
        self._closing: set[asyncio.Task[Any]] = set()

    def create(self, client_id: str) -> Channel:
        """A new channel for this client; past the per-client limit an older one is removed.

        As Genesys documents it for `POST /api/v2/notifications/channels` (docs/GENESYS_NOTES.md):
        creating a 21st channel removes the one with the oldest last use, those without an active
        connection first. Nothing tells the caller; here the removed channel's socket is closed.
        """
        self._forget_expired()
        owned = [c for c in self.channels.values() if c.client_id == client_id]
        for victim in sorted(owned, key=lambda c: (c.connected, c.last_used))[
                : max(0, len(owned) - self._config.max_channels_per_client + 1)]:
            self._evict(victim)
        now = self._clock()
        channel = Channel(
            id=f"streaming-0-{token()[:26].lower()}",
            client_id=client_id,
            created=now,
            expires_at=now + self._config.channel_lifetime,
            last_used=now,
        )
        self.channels[channel.id] = channel
        return channel

    def _evict(self, channel: Channel) -> None:
        del self.channels[channel.id]
        self.evicted.append(channel)
        if channel.socket is not None and not channel.socket.closed:
            self._close_later(channel.socket, b"channel removed: the client created too many")

    def get(self, channel_id: str, client_id: str | None = None) -> Channel | None:
        """The live channel with this id (of this client, when given)."""
        self._forget_expired()
        channel = self.channels.get(channel_id)
        if channel is None or (client_id is not None and channel.client_id != client_id):
            return None
        return channel

    def owned_by(self, client_id: str) -> list[Channel]:
        """The live channels of a client."""
        self._forget_expired()
        return [c for c in self.channels.values() if c.client_id == client_id]

    def subscribe(self, channel: Channel, topics: list[str], replace: bool) -> None:
        """Replace (PUT) or extend (POST) the channel's topics, within the topic limit."""
        merged = [] if replace else list(channel.topics)
        for topic in topics:
            if topic not in merged:
                merged.append(topic)
        if len(merged) > self._config.max_topics_per_channel:
            raise LimitError(
                f"A channel can subscribe to at most {self._config.max_topics_per_channel} topics"
            )
        channel.topics = merged
        channel.last_used = self._clock()

    def subscribers(self, topic: str) -> list[Channel]:
        """Live channels subscribed to this topic."""
        self._forget_expired()
        return [c for c in self.channels.values() if topic in c.topics]

    async def publish(self, topic: str, body: dict[str, Any]) -> PublishedEvent:
        """Send a topic event to every connected channel subscribed to it."""
        event = PublishedEvent(topic, body, self._clock())
        self.published.append(event)
        if self.drops_pending > 0:
            self.drops_pending -= 1
            event.dropped = True
            return event
        frame = {
            "topicName": topic,
            "version": "2",
            "eventBody": body,
            "metadata": {"CorrelationId": new_uuid()},
        }
        for channel in self.subscribers(topic):
            if await self.send(channel, frame):
                event.delivered_to.append(channel.id)
        return event

    async def send(self, channel: Channel, frame: dict[str, Any]) -> bool:
        """Write one frame on the channel's socket; False when nobody is connected."""
        socket = channel.socket
        if socket is None or socket.closed:
            return False
        try:
            await socket.send_str(json.dumps(frame))
        except (ConnectionError, RuntimeError):
            return False
        self.frames.append(SentFrame(channel.id, frame, self._clock()))
        return True

    async def attach(self, channel: Channel, socket: web.WebSocketResponse) -> None:
        """Make this socket the channel's one connection, closing any previous one."""
        previous = channel.socket
        channel.socket = socket
        channel.last_used = self._clock()
        if previous is not None and previous is not socket and not previous.closed:
            await previous.close(message=b"replaced by a new connection")

    def detach(self, channel: Channel, socket: web.WebSocketResponse) -> None:
        """Forget the socket if it is still the channel's connection."""
        if channel.socket is socket:
            channel.socket = None

    async def heartbeats(self, channel: Channel, socket: web.WebSocketResponse) -> None:
        """Send a heartbeat every interval; close the socket when the channel expires."""
        loop = asyncio.get_running_loop()
        interval = self._config.heartbeat_interval
        next_beat = loop.time() + interval
        while not socket.closed:
            remaining = channel.expires_at - self._clock()
            if remaining <= 0:
                await self.expire(channel.id)
                return
            wait = min(next_beat - loop.time(), remaining)
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            next_beat = loop.time() + interval
            frame = {"topicName": HEARTBEAT_TOPIC, "eventBody": {"message": "WebSocket Heartbeat"}}
            await self.send(channel, frame)

    async def socket_closing(self, channel_id: str | None = None) -> int:
        """Warn connected sockets that they are about to close (they should reconnect)."""
        frame = {
            "topicName": SOCKET_CLOSING_TOPIC,
            "eventBody": {"message": "Socket closing"},
        }
        sent = 0
        for channel in self._selected(channel_id):
            sent += await self.send(channel, frame)
        return sent

    async def close_sockets(self, channel_id: str | None = None, code: int = 1011) -> int:
        """Drop connected sockets; the channels stay valid for a reconnect."""
        closed = 0
        for channel in self._selected(channel_id):
            if channel.connected and channel.socket is not None:
                await channel.socket.close(code=code, message=b"closed by the emulator")
                closed += 1
        return closed

    async def expire(self, channel_id: str | None = None) -> int:
        """End channels now: they are forgotten and their sockets closed."""
        selected = self._selected(channel_id)
        for channel in selected:
            self.channels.pop(channel.id, None)
            if channel.socket is not None and not channel.socket.closed:
                await channel.socket.close(code=1000, message=b"channel expired")
        return len(selected)

    async def close_all(self) -> None:
        """Close every socket (the app is stopping)."""
        await self.close_sockets(code=1001)

    def _selected(self, channel_id: str | None) -> list[Channel]:
        if channel_id is None:
            return list(self.channels.values())
        channel = self.channels.get(channel_id)
        return [channel] if channel is not None else []

    def _forget_expired(self) -> None:
        now = self._clock()
        for channel in list(self.channels.values()):
            if channel.expires_at <= now:
                del self.channels[channel.id]
                if channel.socket is not None and not channel.socket.closed:
                    self._close_later(channel.socket)

    def _close_later(self, socket: web.WebSocketResponse, message: bytes = b"channel expired") -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called from plain Python code: the heartbeat loop will close it
            return
        task = loop.create_task(socket.close(code=1000, message=message))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
