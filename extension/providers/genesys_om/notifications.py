"""The Notifications API side of end detection: one channel, its WebSocket and its subscriptions."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

import aiohttp

from ...clock import Clock
from ...genesys import GenesysClient, GenesysError, GenesysForbidden, TopicRejection
from ...genesys.notifications_topics import (
    QUEUE_TOPIC_PREFIX,
    ConversationEvent,
    QueueConversation,
    is_heartbeat,
    is_socket_closing,
    parse_event_frame,
    parse_queue_frame,
)
from ...repeating import RepeatedFailure
from .channel_slots import ChannelSlots
from .settings import HandoverSettings

log = logging.getLogger("extension.providers.genesys_om.notifications")

MAX_TOPICS_PER_CHANNEL = 1000
DEFAULT_LIFETIME = 24 * 3600.0
# After a renewal the old channel is still read this long: events it was delivering when the new
# one was subscribed are not lost.
RENEW_OVERLAP_SECONDS = 1.0

EventCallback = Callable[[str, ConversationEvent], Awaitable[None]]
ReconnectCallback = Callable[[str], Awaitable[None]]


def _expiry_in(expires: str | None, now: float) -> float:
    """Seconds from wall time `now` until a channel's `expires` timestamp (24 h when unknown)."""
    if not expires:
        return DEFAULT_LIFETIME
    try:
        moment = datetime.fromisoformat(expires.replace("Z", "+00:00"))
    except ValueError:
        return DEFAULT_LIFETIME
    return max(0.0, moment.timestamp() - now)


async def _finish(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class ChannelOwner(Protocol):
    """What a channel needs of the connection it serves (watching.ConnectionNotifications)."""

    name: str
    client: GenesysClient
    http: aiohttp.ClientSession
    settings: HandoverSettings
    slots: ChannelSlots
    clock: Clock
    refused: dict[str, None]
    on_event: EventCallback
    on_reconnect: ReconnectCallback

    async def refuse(self, loop: ChannelLoop, rejected: list[TopicRejection]) -> None: ...

    async def permitted(self) -> None: ...

    async def on_queue_change(self, change: QueueConversation) -> None: ...


class ChannelLoop:
    """One notifications channel: keeps a WebSocket open and its subscriptions equal to `topics`."""

    def __init__(self, owner: ChannelOwner, number: int, slot: str) -> None:
        self.owner = owner
        self.number = number
        # The channel slot of the OAuth client this loop's channel holds (channel_slots.py).
        self.slot: str | None = slot
        self.topics: set[str] = set()
        self.channel_id: str | None = None
        self.connected = asyncio.Event()
        self.connects = 0
        self._task: asyncio.Task[None] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        # While an old channel is left after a renewal: the socket each recent event came from.
        self._overlapping = False
        self._seen: dict[ConversationEvent, object] = {}
        self._failures = RepeatedFailure(log, f"notifications channel {number} of {owner.name}", level=logging.WARNING)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"notifications-{self.owner.name}-{self.number}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        slot, self.slot = self.slot, None
        await self.owner.slots.give(slot)

    async def add(self, topics: list[str]) -> None:
        self.topics.update(topics)
        if self.channel_id is not None:
            try:
                rejected = await self._subscribe(self.channel_id, topics, replace=False)
            except GenesysError as exc:
                log.warning("could not subscribe on %s: %s; reconnecting", self.owner.name, exc)
                await self._drop()
                return
            if rejected:
                await self.owner.refuse(self, rejected)
            elif self.owner.refused:
                await self.owner.permitted()

    async def remove(self, topics: list[str]) -> None:
        self.topics.difference_update(topics)
        if self.channel_id is not None:
            try:
                rejected = await self._subscribe(self.channel_id, sorted(self.topics), replace=True)
            except GenesysError as exc:
                log.info("could not unsubscribe on %s: %s", self.owner.name, exc)
                return
            await self.owner.refuse(self, rejected)

    async def _subscribe(self, channel_id: str, topics: list[str], *, replace: bool) -> list[TopicRejection]:
        """Add or replace subscriptions; the topics Genesys refused."""
        client = self.owner.client
        try:
            if replace:
                return await client.replace_subscriptions(channel_id, topics)
            return await client.add_subscriptions(channel_id, topics)
        except GenesysForbidden as exc:
            # Should ignoreErrors not be honoured, a topic the client may not read fails the whole
            # request (403). The channel itself is fine: it is kept, and these topics count as refused.
            return [TopicRejection(topic, (), exc.message) for topic in topics]

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
                self._failures.failed(exc)
            finally:
                self.channel_id = None
                self._ws = None
                self.connected.clear()
            backoff = min(settings.reconnect_max_seconds, 0.2 * 2 ** min(failures, 10))
            await self.owner.clock.sleep(backoff * (0.5 + random.random() / 2) if failures else 0.05)

    async def _session(self) -> None:
        """Open a channel and read it until it closes or goes quiet; renew it before it expires.

        The next channel is created, connected and subscribed before the old one is left, and the
        old one is still read for RENEW_OVERLAP_SECONDS: no event falls into a gap between the two.
        """
        ws, renew_at = await self._open()
        leaving: asyncio.Task[None] | None = None
        try:
            self.connects += 1
            self.connected.set()
            self._failures.succeeded()
            log.info("notifications channel %d of %s connected", self.number, self.owner.name)
            await self.owner.on_reconnect(self.owner.name)
            while await self._read(ws, renew_at):
                log.info("renewing notifications channel of %s before it expires", self.owner.name)
                # The next channel needs a slot of its own: created beside the old one without it,
                # it could make Genesys remove another live channel of the OAuth client.
                spare = await self.owner.slots.take()
                if spare is None:
                    log.info("no notifications channel to spare beside the old one of %s under the OAuth "
                             "client's limit; replacing it", self.owner.name)
                    return
                try:
                    new_ws, renew_at = await self._open()
                except (GenesysError, aiohttp.ClientError, OSError, ValueError) as exc:
                    # Leave the old channel first, then open the next one (the reconcile after
                    # reconnect covers the gap).
                    await self.owner.slots.give(spare)
                    log.info("could not open the next notifications channel of %s beside the old one (%s); "
                             "replacing it", self.owner.name, exc)
                    return
                self.connects += 1
                if leaving is not None:
                    await _finish(leaving)
                self._seen.clear()
                old_slot, self.slot = self.slot, spare
                leaving = asyncio.create_task(self._leave(ws, old_slot),
                                              name=f"notifications-{self.owner.name}-leaving")
                ws = new_ws
        finally:
            if leaving is not None:
                await _finish(leaving)
            self._seen.clear()
            await ws.close()

    async def _open(self) -> tuple[aiohttp.ClientWebSocketResponse, float]:
        """Create a channel, connect and subscribe it, then make it this loop's channel."""
        settings = self.owner.settings
        client = self.owner.client
        channel = await client.create_notification_channel()
        clock = self.owner.clock
        lifetime = _expiry_in(channel.expires, clock.time())
        renew_at = clock.monotonic() + max(1.0, lifetime - settings.channel_renew_seconds)
        ws = await self.owner.http.ws_connect(channel.connect_uri, autoping=True)
        try:
            subscribed: set[str] = set()
            # Watches and unwatches made meanwhile went to the previous channel: subscribe again
            # until the new one has exactly `topics`.
            while subscribed != self.topics:
                subscribed = set(self.topics)
                # Refused topics leave `topics`: the next pass subscribes the channel without them.
                await self.owner.refuse(self, await self._subscribe(channel.id, sorted(subscribed), replace=True))
        except BaseException:
            await ws.close()
            raise
        self._ws = ws
        self.channel_id = channel.id
        return ws, renew_at

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, renew_at: float) -> bool:
        """Handle frames; True when the channel is due for renewal, False when it must be replaced.

        The renewal is due on the runtime's clock; the heartbeat is awaited in real time (it is the
        socket's own liveness)."""
        settings = self.owner.settings
        clock = self.owner.clock
        while True:
            remaining = renew_at - clock.monotonic()
            if remaining <= 0:
                return True
            try:
                msg = await clock.wait_for(ws.receive(timeout=settings.heartbeat_timeout_seconds), remaining)
            except TimeoutError:
                if renew_at - clock.monotonic() <= 0:
                    return True
                log.warning("no heartbeat on the notifications channel of %s; reconnecting", self.owner.name)
                return False
            if msg.type != aiohttp.WSMsgType.TEXT:
                log.info("notifications socket of %s closed (%s)", self.owner.name, msg.type.name)
                return False
            if not await self._frame(msg.data, ws):
                return False

    async def _leave(self, ws: aiohttp.ClientWebSocketResponse, slot: str | None) -> None:
        """Read what the old channel still delivers for a moment, then close it."""
        clock = self.owner.clock
        deadline = clock.monotonic() + RENEW_OVERLAP_SECONDS
        self._overlapping = True
        try:
            while (remaining := deadline - clock.monotonic()) > 0:
                try:
                    msg = await clock.wait_for(ws.receive(), remaining)
                except TimeoutError:
                    break
                if msg.type != aiohttp.WSMsgType.TEXT or not await self._frame(msg.data, ws):
                    break
        finally:
            self._overlapping = False
            self._seen.clear()
            await ws.close()
            await self.owner.slots.give(slot)

    async def _frame(self, data: str, source: object = None) -> bool:
        """Handle one frame from the socket `source`; False when that socket should be replaced."""
        try:
            frame = json.loads(data)
        except ValueError:
            return True
        if not isinstance(frame, dict) or is_heartbeat(frame):
            return True
        if is_socket_closing(frame):
            log.info("Genesys is closing the notifications socket of %s; reconnecting", self.owner.name)
            return False
        topic = frame.get("topicName")
        if isinstance(topic, str) and topic.startswith(QUEUE_TOPIC_PREFIX):
            try:
                change = parse_queue_frame(frame)
            except ValueError:
                return True
            if change is not None:
                # No duplicate check: a queue event repeated changes nothing (queue_watch.py).
                await self.owner.on_queue_change(change)
            return True
        try:
            event = parse_event_frame(frame)
        except ValueError:
            return True
        if event is None:
            return True
        if self._duplicate(event, source):
            return True
        await self.owner.on_event(self.owner.name, event)
        return True

    def _duplicate(self, event: ConversationEvent, source: object) -> bool:
        """While two channels overlap, an event both deliver is handled once."""
        if not self._overlapping:
            return False
        first = self._seen.pop(event, None)
        if first is not None and first is not source:
            return True
        self._seen[event] = source
        return False
