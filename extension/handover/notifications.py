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

from ..genesys import GenesysClient, GenesysError, GenesysForbidden, TopicRejection
from ..genesys.notifications_topics import (
    ConversationEvent,
    conversation_topics,
    is_heartbeat,
    is_socket_closing,
    parse_event_frame,
    parse_topic,
)
from .channel_slots import ChannelSlots
from .settings import HandoverSettings
from .unwatched import NO_CHANNEL, NO_PERMISSION, Unwatched

log = logging.getLogger("extension.handover.notifications")

MAX_TOPICS_PER_CHANNEL = 1000
DEFAULT_LIFETIME = 24 * 3600.0
# After a renewal the old channel is still read this long: events it was delivering when the new
# one was subscribed are not lost.
RENEW_OVERLAP_SECONDS = 1.0

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


async def _finish(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class ChannelLoop:
    """One notifications channel: keeps a WebSocket open and its subscriptions equal to `topics`."""

    def __init__(self, owner: ConnectionNotifications, number: int, slot: str) -> None:
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
                log.warning("notifications channel of %s failed: %s", self.owner.name, exc)
            finally:
                self.channel_id = None
                self._ws = None
                self.connected.clear()
            backoff = min(settings.reconnect_max_seconds, 0.2 * 2 ** min(failures, 10))
            await asyncio.sleep(backoff * (0.5 + random.random() / 2) if failures else 0.05)

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
        renew_at = time.monotonic() + max(1.0, _expiry_in(channel.expires) - settings.channel_renew_seconds)
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
        """Handle frames; True when the channel is due for renewal, False when it must be replaced."""
        settings = self.owner.settings
        while True:
            remaining = renew_at - time.monotonic()
            if remaining <= 0:
                return True
            try:
                msg = await ws.receive(timeout=min(settings.heartbeat_timeout_seconds, remaining))
            except TimeoutError:
                if renew_at - time.monotonic() <= 0:
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
        deadline = time.monotonic() + RENEW_OVERLAP_SECONDS
        self._overlapping = True
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                try:
                    msg = await ws.receive(timeout=remaining)
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


class ConnectionNotifications:
    """All channels of one connection; conversations are spread so none exceeds its topic limit."""

    def __init__(self, name: str, client: GenesysClient, http: aiohttp.ClientSession, settings: HandoverSettings,
                 on_event: EventCallback, on_reconnect: ReconnectCallback, unwatched: Unwatched,
                 slots: ChannelSlots) -> None:
        self.name = name
        self.client = client
        self.http = http
        self.settings = settings
        self.on_event = on_event
        self.on_reconnect = on_reconnect
        self.unwatched = unwatched
        self.slots = slots
        self.channels: list[ChannelLoop] = []
        self._where: dict[str, ChannelLoop] = {}
        # Handovers past the topic limit: not subscribed, their ends found by the reconciler. They
        # are placed, first come first served, when an unwatch frees room, not retried at each re-sync.
        self.unplaced: dict[str, None] = {}
        # Handovers whose topics Genesys refused (a permission the OAuth client lacks): retried
        # once a later subscription is accepted, their ends found by the reconciler meanwhile.
        self.refused: dict[str, None] = {}
        self._missing_logged: frozenset[str] | None = None

    async def watch(self, conversation_id: str) -> None:
        if conversation_id in self._where or conversation_id in self.unplaced or conversation_id in self.refused:
            return
        if await self._place(conversation_id):
            return
        if not self.unplaced:
            log.error("%s: every notifications channel is full (%d channels, %d handovers subscribed) and no other "
                      "is created: the OAuth client's %d channels are in use (the others by replicas or connections "
                      "sharing it), and Genesys would silently remove one of them for a new one. Further handovers "
                      "are not subscribed; the reconciler checks them every %g s until room frees", self.name,
                      len(self.channels), len(self._where), self.slots.limit,
                      self.settings.reconcile_unwatched_interval_seconds)
        self.unplaced[conversation_id] = None
        await self.unwatched.mark(self.name, conversation_id, NO_CHANNEL)

    async def unwatch(self, conversation_id: str) -> None:
        if conversation_id in self.refused:
            del self.refused[conversation_id]
            await self.unwatched.clear(self.name, conversation_id)
            return
        if conversation_id in self.unplaced:
            del self.unplaced[conversation_id]
            await self.unwatched.clear(self.name, conversation_id)
            self._all_placed()
            return
        loop = self._where.pop(conversation_id, None)
        if loop is not None:
            await loop.remove(conversation_topics(conversation_id))
            await self._place_waiting()

    async def _place(self, conversation_id: str) -> bool:
        """Subscribe on the first channel with room (a new one while under the limit); False if none."""
        topics = conversation_topics(conversation_id)
        loop = next((c for c in self.channels if len(c.topics) + len(topics) <= MAX_TOPICS_PER_CHANNEL), None)
        if loop is None:
            slot = await self.slots.take()
            if slot is None:
                return False
            loop = ChannelLoop(self, len(self.channels), slot)
            self.channels.append(loop)
            loop.start()
        self._where[conversation_id] = loop
        await loop.add(topics)
        return True

    async def _place_waiting(self) -> None:
        """Room was freed: subscribe the handovers that waited longest, while the room lasts."""
        placed = False
        while self.unplaced:
            cid = next(iter(self.unplaced))
            del self.unplaced[cid]
            if not await self._place(cid):
                # Back at the head of the queue: nothing else fits either.
                self.unplaced = {cid: None, **self.unplaced}
                break
            await self.unwatched.clear(self.name, cid)
            placed = True
        if placed:
            self._all_placed()

    def _all_placed(self) -> None:
        if not self.unplaced:
            log.info("%s: every handover is subscribed to notifications again (%d)", self.name, len(self._where))

    async def refuse(self, loop: ChannelLoop, rejected: list[TopicRejection]) -> None:
        """Genesys refused these topics: their handovers leave the channel for the reconciler."""
        missing: set[str] = set()
        refused: dict[str, None] = {}
        for rejection in rejected:
            parsed = parse_topic(rejection.topic)
            missing.update(rejection.missing_permissions or (f"a permission ({rejection.reason or 'unnamed'})",))
            if parsed is not None:
                refused[parsed[0]] = None
        for cid in refused:
            loop.topics.difference_update(conversation_topics(cid))
            if self._where.get(cid) is loop:
                del self._where[cid]
                self.refused[cid] = None
                await self.unwatched.mark(self.name, cid, NO_PERMISSION)
        if refused and frozenset(missing) != self._missing_logged:
            # Once, not per handover: every handover of the connection needs the same permission.
            self._missing_logged = frozenset(missing)
            log.error("%s: Genesys refuses the notification topics of handovers: the OAuth client's role lacks "
                      "%s. Add it to the role of the OAuth client; until then the reconciler checks each "
                      "unwatched handover every %g s", self.name, ", ".join(sorted(missing)),
                      self.settings.reconcile_unwatched_interval_seconds)

    async def permitted(self) -> None:
        """A subscription was accepted after some were refused: subscribe the refused ones again."""
        log.info("%s: Genesys accepts the notification topics again; subscribing the %d unwatched handover(s)",
                 self.name, len(self.refused))
        self._missing_logged = None
        waiting, self.refused = list(self.refused), {}
        for cid in waiting:
            await self.unwatched.clear(self.name, cid)
            await self.watch(cid)

    async def stop(self) -> None:
        for loop in self.channels:
            await loop.stop()

    async def reset(self) -> None:
        """Close every channel and forget every watch (another replica runs them now)."""
        await self.stop()
        self.channels.clear()
        self._where.clear()
        self.unplaced.clear()
        self.refused.clear()
        self.unwatched.forget(self.name)


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

    async def take_over(self, connection: str) -> None:
        """This replica now runs the connection's channels (before its first re-sync)."""
        conn = self.connections.get(connection)
        if conn is not None:
            await conn.unwatched.take_over(connection)

    def watching(self, connection: str) -> set[str]:
        conn = self.connections.get(connection)
        return set(conn._where) if conn is not None else set()

    def waiting(self, connection: str) -> set[str]:
        """The handovers past the subscription limit, waiting for room."""
        conn = self.connections.get(connection)
        return set(conn.unplaced) if conn is not None else set()

    def unwatched(self, connection: str) -> set[str]:
        """The handovers known here but not subscribed: waiting for room, or refused by Genesys."""
        conn = self.connections.get(connection)
        return set(conn.unplaced) | set(conn.refused) if conn is not None else set()

    async def stop(self) -> None:
        for conn in self.connections.values():
            await conn.stop()

