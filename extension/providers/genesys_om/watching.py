"""Which handovers each notifications channel of a connection carries, within Genesys' limits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiohttp

from ...clock import SYSTEM_CLOCK, Clock
from ...genesys import GenesysClient, GenesysError, TopicRejection
from ...genesys.notifications_topics import (
    QueueConversation,
    conversation_topics,
    parse_queue_topic,
    parse_topic,
    queue_topic,
)
from . import notifications
from .channel_slots import ChannelSlots
from .notifications import ChannelLoop, EventCallback, ReconnectCallback
from .queue_watch import QueueWatch
from .settings import QUEUE_TOPICS, HandoverSettings
from .unwatched import NO_CHANNEL, NO_PERMISSION, Unwatched

log = logging.getLogger("extension.providers.genesys_om.notifications")


class ConnectionNotifications:
    """All channels of one connection; conversations are spread so none exceeds its topic limit."""

    def __init__(self, name: str, client: GenesysClient, http: aiohttp.ClientSession, settings: HandoverSettings,
                 on_event: EventCallback, on_reconnect: ReconnectCallback, unwatched: Unwatched,
                 slots: ChannelSlots, home_queue: Callable[[], Awaitable[str]] | None = None,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.name = name
        self.clock = clock
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
        # With `end_topics = "queue"`: the handovers watched through their queue's topic, and where
        # each queue topic is subscribed. Once Genesys refuses a queue topic, every handover of the
        # connection falls back to its own topics (`queue_refused`) until the channels are reset.
        self.queues = QueueWatch()
        self.home_queue = home_queue if settings.end_topics == QUEUE_TOPICS else None
        self.queue_refused = False
        self._queue_where: dict[str, ChannelLoop] = {}
        self._queue_sync = asyncio.Lock()

    async def watch(self, conversation_id: str) -> None:
        if (conversation_id in self._where or conversation_id in self.unplaced or conversation_id in self.refused
                or conversation_id in self.queues):
            return
        if self.home_queue is not None and not self.queue_refused and await self._watch_by_queue(conversation_id):
            return
        await self._watch_alone(conversation_id)

    async def _watch_by_queue(self, conversation_id: str) -> bool:
        """Own the conversation and make sure its queue's topic is subscribed; False if none can be."""
        if self.queues.home is None:
            assert self.home_queue is not None
            try:
                self.queues.home = await self.home_queue()
            except (GenesysError, ValueError) as exc:  # asked again at the next handover
                log.warning("%s: the queue is unknown (%s); watching the handover's own topics", self.name, exc)
                return False
        self.queues.own(conversation_id)
        if await self._sync_queue_topics() or self.queue_refused:
            return True  # refused meanwhile: the fall-back gave it its own topics already
        self.queues.disown(conversation_id)  # no channel has room for the queue topic
        return False

    async def _sync_queue_topics(self) -> bool:
        """Subscribe the queue topics the owned handovers need, leave the others; False if one has no room."""
        async with self._queue_sync:  # one at a time: each compares what is subscribed with what is needed
            needed = {queue_topic(q) for q in self.queues.queues()}
            for topic in set(self._queue_where) - needed:
                await self._queue_where.pop(topic).remove([topic])
            for topic in sorted(needed - set(self._queue_where)):
                room = await self._channel_for(1)
                if room is None:
                    return False
                self._queue_where[topic] = room
                await room.add([topic])
                if self.queue_refused:
                    return False
            return True

    async def on_queue_change(self, change: QueueConversation) -> None:
        """A queue topic event: a set lookup for a conversation not ours, end-rule events for ours."""
        observed = self.queues.observe(change)
        if observed.joined or observed.left:
            await self._sync_queue_topics()
        for event in observed.events:
            await self.on_event(self.name, event)

    async def _fall_back(self) -> None:
        """Queue topics refused: every handover watched through them gets its own topics."""
        self.queue_refused = True
        owned = self.queues.owned()
        self.queues.clear()
        for topic, loop in list(self._queue_where.items()):
            del self._queue_where[topic]
            if topic in loop.topics:
                await loop.remove([topic])
        for cid in owned:
            await self._watch_alone(cid)

    async def _watch_alone(self, conversation_id: str) -> None:
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
        if conversation_id in self.queues:
            self.queues.disown(conversation_id)
            await self._sync_queue_topics()
            return
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
        loop = await self._channel_for(len(topics))
        if loop is None:
            return False
        self._where[conversation_id] = loop
        await loop.add(topics)
        return True

    async def _channel_for(self, count: int) -> ChannelLoop | None:
        """The first channel with room for `count` more topics (a new one while under the limit)."""
        room = notifications.MAX_TOPICS_PER_CHANNEL - count
        loop = next((c for c in self.channels if len(c.topics) <= room), None)
        if loop is None:
            slot = await self.slots.take()
            if slot is None:
                return None
            loop = ChannelLoop(self, len(self.channels), slot)
            self.channels.append(loop)
            loop.start()
        return loop

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
        queue_missing: set[str] = set()
        for rejection in rejected:
            parsed = parse_topic(rejection.topic)
            needs = rejection.missing_permissions or (f"a permission ({rejection.reason or 'unnamed'})",)
            if parse_queue_topic(rejection.topic) is not None:
                loop.topics.discard(rejection.topic)
                queue_missing.update(needs)
                continue
            missing.update(needs)
            if parsed is not None:
                refused[parsed[0]] = None
        if queue_missing and not self.queue_refused:
            log.error("%s: Genesys refuses the queue conversation topics: the OAuth client's role lacks %s. "
                      "Each handover is watched through its own topics instead (at most %d per channel); add "
                      "the permission to the role for many handovers", self.name,
                      ", ".join(sorted(queue_missing)), notifications.MAX_TOPICS_PER_CHANNEL // 3)
            await self._fall_back()
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
        self.queues.clear()
        self._queue_where.clear()
        self.queue_refused = False
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
        return set(conn._where) | conn.queues.owned() if conn is not None else set()

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

