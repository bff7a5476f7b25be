"""Wires the Genesys handover into the app: connections, hooks, webhook, background work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from ... import keys
from ...clock import SYSTEM_CLOCK
from ...config import Config
from ...genesys import GenesysError
from ...genesys.signature import verify
from ...handover import ProviderDeclaration, service_key
from ...tasks import BackgroundTasks
from .answering import AgentWatch
from .channel_slots import ChannelSlots, client_key
from .cluster import ClusterDuties
from .connection import GenesysConnection
from .delivery import AgentDelivery
from .ending import EndDetector
from .keys import HANDOVER_RUNTIME
from .outbox import OutboxSender
from .provider import GenesysHandover
from .reconciler import Reconciler
from .signature_alarm import SignatureAlarm
from .state import PROVIDER as PROVIDER_TYPE
from .unwatched import Unwatched
from .watching import ConnectionNotifications, NotificationsWatcher
from .webhook import WebhookInbox, genesys_webhook

log = logging.getLogger("extension.handover")
RESOLVE_RETRY_SECONDS = 30.0
# Stored webhooks older than this are replayed by the periodic sweep (their replica may be gone).
INBOX_REPLAY_AGE_SECONDS = 120.0


class HandoverRuntime:
    """Everything the Genesys handover runs, started and stopped with the app."""

    def __init__(self, app: web.Application, config: Config, http: aiohttp.ClientSession) -> None:
        metrics = app[keys.METRICS]
        conversations = app[keys.CONVERSATIONS]
        settings = config.handover
        clock = self.clock = app.get(keys.CLOCK, SYSTEM_CLOCK)

        def on_response(method: str, template: str, status: int, seconds: float) -> None:
            metrics.genesys_calls.inc(status=str(status))
            metrics.genesys_latency.observe(seconds, call=f"{method} {template}")

        self.connections = {
            name: GenesysConnection.build(conn, http, settings, on_response, clock=clock)
            for name, conn in config.connections.items() if conn.type == PROVIDER_TYPE
        }
        self.background = BackgroundTasks("handover")
        self.handover = GenesysHandover(conversations, self.connections, config.flags, settings, metrics,
                                        clock=clock)
        self.delivery = AgentDelivery(self.handover, self.background)
        self.inbox = WebhookInbox(self, conversations.store, self.background, clock=clock)
        self.signature_alarm = SignatureAlarm(self.connections, self.handover, metrics.signature_failures,
                                              self.background, clock=clock.monotonic)
        self.webhook_wait_seconds = settings.webhook_wait_seconds
        # Replicas sharing a store share the cluster-wide jobs through its coordination.
        coordination = conversations.store.coordination()
        # Senders stop at once on shutdown: what they hold is in the stored outbox.
        self.senders = BackgroundTasks("outbox")
        self.outbox = OutboxSender(self.handover, self.senders, coordination, clock=clock)
        self.agents = AgentWatch(self.handover, self.connections, settings.agent_check_seconds, clock=clock)
        self.ending = EndDetector(self.handover, settings.acw_timeout_seconds, self.agents, clock=clock)
        self.reconciler = Reconciler(self.handover, self.ending, interval=settings.reconcile_interval_seconds,
                                     idle=settings.reconcile_idle_seconds, batch=settings.reconcile_batch,
                                     unwatched_interval=settings.reconcile_unwatched_interval_seconds,
                                     clock=clock)
        self.unwatched = Unwatched(conversations.store, metrics.unwatched)
        # One set of channel slots per OAuth client: connections sharing a client share its 20 channels.
        self.slots: dict[str, ChannelSlots] = {}
        for conn in self.connections.values():
            key = client_key(conn.client.region.api_base, conn.client.client_id)
            self.slots.setdefault(key, ChannelSlots(coordination, key, settings.lease_seconds, clock=clock))
        self.watcher = NotificationsWatcher({
            name: ConnectionNotifications(
                name, conn.client, http, settings, self.ending.on_event, self._reconnected, self.unwatched,
                self.slots[client_key(conn.client.region.api_base, conn.client.client_id)])
            for name, conn in self.connections.items()
        })
        self.cluster = ClusterDuties(self.watcher, coordination, conversations.store, settings.lease_seconds,
                                     self.background, clock=clock)
        self.reconciler.leader = self.cluster.leads_reconciler
        self.cluster.on_reconciler = self.outbox.resume_all
        self.reconciler.sweep = self._sweep
        # The provider watches through the cluster: only the notifications lease holder subscribes.
        self.handover.outbox, self.handover.watcher, self.handover.ending = self.outbox, self.cluster, self.ending
        self._resolved_at: dict[str, float] = {}
        self._resolving: dict[str, asyncio.Task[None]] = {}
        self._loops: list[asyncio.Task[None]] = []
        conversations.services[service_key(PROVIDER_TYPE)] = self.handover
        conversations.input_hooks.append(self.handover.on_input)
        conversations.typing_hooks.append(self.handover.on_typing)
        conversations.end_hooks.append(self.handover.on_session_end)

    async def start(self) -> None:
        for conn in self.connections.values():
            self._resolving[conn.name] = self.background.spawn(self._resolve(conn), name=f"resolve-{conn.name}")
        # Takes the leases it can and subscribes every handover the store holds (after a restart too).
        await self.cluster.start()
        await self.outbox.resume_all()
        # Webhooks answered but not yet delivered when the previous process stopped.
        await self.inbox.replay()
        self._loops.append(asyncio.create_task(self.reconciler.run(), name="reconciler"))
        self._loops.append(asyncio.create_task(self.reconciler.run_unwatched(), name="reconciler-unwatched"))

    async def stop(self) -> None:
        for task in self._loops:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.cluster.stop()
        for task in self._resolving.values():
            task.cancel()
        await self.senders.cancel()
        await self.watcher.stop()
        for slots in self.slots.values():
            await slots.stop()
        await self.ending.close()
        await self.handover.close_typing()
        # Receipts in flight get a moment to finish; lookups and senders are simply stopped.
        await self.background.drain(grace=2.0)

    async def _sweep(self) -> None:
        await self.outbox.resume_all()
        await self.inbox.replay(older_than=INBOX_REPLAY_AGE_SECONDS)

    async def _reconnected(self, connection: str) -> None:
        """Events may have been missed while the socket was down: check those handovers now."""
        if self.watcher.watching(connection):
            self.background.spawn(self.reconciler.check_once(everything=True), name="reconcile-after-reconnect")

    async def _resolve(self, conn: GenesysConnection) -> None:
        self._resolved_at[conn.name] = self.clock.monotonic()
        try:
            await conn.integration()
        except GenesysError as exc:
            log.warning("connection %s: integration %r not resolved yet: %s", conn.name, conn.deployment_name, exc)

    def signed_by(self, raw: bytes, signature: str | None) -> list[GenesysConnection]:
        """The connections whose webhook secret signs these raw bytes (nothing is parsed first).

        Each distinct secret is tried once: connections sharing an integration share its secret.
        """
        if not signature:
            return []
        verdicts: dict[str, bool] = {}
        signed = []
        for conn in self.connections.values():
            secret = conn.webhook_secret.reveal()
            if secret not in verdicts:
                verdicts[secret] = verify(secret, raw, signature)
            if verdicts[secret]:
                signed.append(conn)
        return signed

    def webhook_candidates(self, signed: list[GenesysConnection],
                           integration_id: str | None) -> list[GenesysConnection]:
        """The signed connections a webhook of `integration_id` may belong to; never waits on Genesys.

        Several connections may share one integration (each routing to its own queue): all of them
        are candidates, and the delivery picks the one that owns the recipient's handover. When no
        signed connection has resolved that integration id yet, the unresolved ones are candidates
        (the HMAC itself authenticates the sender) while their lookup runs in the background.
        """
        if not integration_id:
            return []
        named = [conn for conn in signed if conn.integration_id == integration_id]
        if named:
            return named
        for conn in self.connections.values():
            if conn.integration_id is None:
                self._resolve_later(conn)
        return [conn for conn in signed if conn.integration_id is None]

    def _resolve_later(self, conn: GenesysConnection) -> None:
        task = self._resolving.get(conn.name)
        if task is not None and not task.done():
            return
        # Unknown ids must not make every request a Genesys lookup: one try per interval.
        if self.clock.monotonic() - self._resolved_at.get(conn.name, -1e9) < RESOLVE_RETRY_SECONDS:
            return
        self._resolving[conn.name] = self.background.spawn(self._resolve(conn), name=f"resolve-{conn.name}")

    def connection_for_end_key(self, key: str) -> GenesysConnection | None:
        matches = [conn for conn in self.connections.values() if conn.accepts_end_key(key)]
        return matches[0] if matches else None


def install(app: web.Application, config: Config, declaration: ProviderDeclaration) -> None:
    """The provider's factory (manifest.json): the webhook route at the declared path and, when a
    Genesys connection is configured, the runtime."""
    app.router.add_post(declaration.webhook_path, genesys_webhook)
    if not any(conn.type == PROVIDER_TYPE for conn in config.connections.values()):
        return

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as http:
            runtime = HandoverRuntime(app, config, http)
            app[HANDOVER_RUNTIME] = runtime
            await runtime.start()
            yield
            await runtime.stop()

    app.cleanup_ctx.append(lifecycle)
