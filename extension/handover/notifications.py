"""The Notifications API side of end detection: channels, their WebSockets and subscriptions."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

import aiohttp

from ..genesys import GenesysClient, GenesysError
from ..genesys.notifications_topics import (
    ConversationEvent,
    conversation_topics,
    is_heartbeat,
    is_socket_closing,
    parse_event_frame,
)
from .settings import HandoverSettings

log = logging.getLogger("extension.handover.notifications")

MAX_TOPICS_PER_CHANNEL = 1000
MAX_CHANNELS = 20
DEFAULT_LIFETIME = 24 * 3600.0

EventCallback = Callable[[str, ConversationEvent], Awaitable[None]]
ReconnectCallback = Callable[[str], Awaitable[None]]


def _expiry_in(expires: str | None) -> float:
    """Seconds until a channel's `expires` timestamp (24 h when unknown)."""
    if not expires:
        return DEFAULT_LIFETIME
    try:
        moment = datetime.fromisoformat(expires.replace("Z", "+00:00"))
    except ValueError:
        return DEFAULT_LIFETIME
    return max(0.0, moment.timestamp() - time.time())


class ChannelLoop:
    """One notifications channel: keeps a WebSocket open and its subscriptions equal to `topics`."""

    def __init__(self, owner: ConnectionNotifications, number: int) -> None:
        self.owner = owner
        self.number = number
        self.topics: set[str] = set()
        self.channel_id: str | None = None
        self.connected = asyncio.Event()
        self.connects = 0
        self._task: asyncio.Task[None] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"notifications-{self.owner.name}-{self.number}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def add(self, topics: list[str]) -> None:
        self.topics.update(topics)
        if self.channel_id is not None:
            try:
                await self.owner.client.add_subscriptions(self.channel_id, topics)
            except GenesysError as exc:
                log.warning("could not subscribe on %s: %s; reconnecting", self.owner.name, exc)
                await self._drop()

    async def remove(self, topics: list[str]) -> None:
        self.topics.difference_update(topics)
        if self.channel_id is not None:
            try:
                await self.owner.client.replace_subscriptions(self.channel_id, sorted(self.topics))
            except GenesysError as exc:
                log.info("could not unsubscribe on %s: %s", self.owner.name, exc)

    async def _drop(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def _run(self) -> None:
        settings = self.owner.settings
        failures = 0
        while True:
            try:
                await self._session()
                failures = 0
            except asyncio.CancelledError:
                raise
            except (GenesysError, aiohttp.ClientError, OSError, ValueError) as exc:
                failures += 1
                log.warning("notifications channel of %s failed: %s", self.owner.name, exc)
            finally:
                self.channel_id = None
                self._ws = None
                self.connected.clear()
            backoff = min(settings.reconnect_max_seconds, 0.2 * 2 ** min(failures, 10))
            await asyncio.sleep(backoff * (0.5 + random.random() / 2) if failures else 0.05)

    async def _session(self) -> None:
        """Create a channel, connect, subscribe, and read until it closes, goes quiet or expires."""
        settings = self.owner.settings
        client = self.owner.client
        channel = await client.create_notification_channel()
        renew_at = time.monotonic() + max(1.0, _expiry_in(channel.expires) - settings.channel_renew_seconds)
        async with self.owner.http.ws_connect(channel.connect_uri, autoping=True) as ws:
            self._ws = ws
            self.channel_id = channel.id
            if self.topics:
                await client.replace_subscriptions(channel.id, sorted(self.topics))
            self.connects += 1
            self.connected.set()
            log.info("notifications channel %d of %s connected", self.number, self.owner.name)
            await self.owner.on_reconnect(self.owner.name)
            while True:
                remaining = renew_at - time.monotonic()
                if remaining <= 0:
                    log.info("renewing notifications channel of %s before it expires", self.owner.name)
                    return
                try:
                    msg = await ws.receive(timeout=min(settings.heartbeat_timeout_seconds, remaining))
                except TimeoutError:
                    if renew_at - time.monotonic() <= 0:
                        return
                    log.warning("no heartbeat on the notifications channel of %s; reconnecting", self.owner.name)
                    return
                if msg.type != aiohttp.WSMsgType.TEXT:
                    log.info("notifications socket of %s closed (%s)", self.owner.name, msg.type.name)
                    return
                if not await self._frame(msg.data):
                    return

    async def _frame(self, data: str) -> bool:
        """Handle one frame; False when the socket should be replaced."""
        try:
            frame = json.loads(data)
        except ValueError:
            return True
        if not isinstance(frame, dict) or is_heartbeat(frame):
            return True
        if is_socket_closing(frame):
            log.info("Genesys is closing the notifications socket of %s; reconnecting", self.owner.name)
            return False
        try:
            event = parse_event_frame(frame)
        except ValueError:
            return True
        if event is not None:
            await self.owner.on_event(self.owner.name, event)
        return True


class ConnectionNotifications:
    """All channels of one connection; conversations are spread so none exceeds its topic limit."""

    def __init__(self, name: str, client: GenesysClient, http: aiohttp.ClientSession, settings: HandoverSettings,
                 on_event: EventCallback, on_reconnect: ReconnectCallback) -> None:
        self.name = name
        self.client = client
        self.http = http
        self.settings = settings
        self.on_event = on_event
        self.on_reconnect = on_reconnect
        self.channels: list[ChannelLoop] = []
        self._where: dict[str, ChannelLoop] = {}

    async def watch(self, conversation_id: str) -> None:
        if conversation_id in self._where:
            return
        topics = conversation_topics(conversation_id)
        loop = next((c for c in self.channels if len(c.topics) + len(topics) <= MAX_TOPICS_PER_CHANNEL), None)
        if loop is None:
            if len(self.channels) >= MAX_CHANNELS:
                log.error("%s: every notifications channel is full; the reconciler will detect ends", self.name)
                return
            loop = ChannelLoop(self, len(self.channels))
            self.channels.append(loop)
            loop.start()
        self._where[conversation_id] = loop
        await loop.add(topics)

    async def unwatch(self, conversation_id: str) -> None:
        loop = self._where.pop(conversation_id, None)
        if loop is not None:
            await loop.remove(conversation_topics(conversation_id))

    async def stop(self) -> None:
        for loop in self.channels:
            await loop.stop()

    async def reset(self) -> None:
        """Close every channel and forget every watch (another replica runs them now)."""
        await self.stop()
        self.channels.clear()
        self._where.clear()


class NotificationsWatcher:
    """Routes watch/unwatch calls to each connection's channels."""

    def __init__(self, connections: dict[str, ConnectionNotifications]) -> None:
        self.connections = connections

    async def watch(self, connection: str, conversation_id: str) -> None:
        conn = self.connections.get(connection)
        if conn is not None:
            await conn.watch(conversation_id)

    async def unwatch(self, connection: str, conversation_id: str) -> None:
        conn = self.connections.get(connection)
        if conn is not None:
            await conn.unwatch(conversation_id)

    async def release(self, connection: str) -> None:
        conn = self.connections.get(connection)
        if conn is not None:
            await conn.reset()

    def watching(self, connection: str) -> set[str]:
        conn = self.connections.get(connection)
        return set(conn._where) if conn is not None else set()

    async def stop(self) -> None:
        for conn in self.connections.values():
            await conn.stop()

