"""Wires the Genesys handover into the app: connections, hooks, webhook, background work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from aiohttp import web

from ... import keys, texts
from ...clock import SYSTEM_CLOCK
from ...config import Config
from ...copilot import link_maker
from ...genesys import GenesysError
from ...handover import ProviderDeclaration, register_provider
from ...refusals import BadInput
from ...stopping import cancel_and_wait
from ...tasks import BackgroundTasks
from .agent_files import AgentFiles
from .answering import AgentWatch
from .channel_slots import ChannelSlots, client_key
from .cluster import ClusterDuties
from .connection import GenesysConnection
from .delivery import AgentDelivery
from .ending import EndDetector
from .followers import Followers
from .outbox import OutboxSender
from .provider import GenesysHandover
from .reconciler import Reconciler
from .settings import HandoverSettings
from .signature_alarm import SignatureAlarm
from .signers import WebhookSigners
from .state import PROVIDER as PROVIDER_TYPE
from .unwatched import Unwatched
from .wait_estimates import WaitEstimates
from .watching import ConnectionNotifications, NotificationsWatcher
from .webhook import WebhookInbox, WebhookReceiver, receive

# Stored webhooks older than this are replayed by the periodic sweep (their replica may be gone).
INBOX_REPLAY_AGE_SECONDS = 120.0


class HandoverRuntime:
    """Everything the Genesys handover runs, started and stopped with the app."""

    def __init__(self, app: web.Application, config: Config, http: aiohttp.ClientSession) -> None:
        metrics = app[keys.METRICS]
        sessions = app[keys.SESSIONS]
        settings = config.settings_for(PROVIDER_TYPE, HandoverSettings)
        clock = self.clock = app.get(keys.CLOCK, SYSTEM_CLOCK)

        def on_response(method: str, template: str, status: int, seconds: float) -> None:
            metrics.genesys_calls.inc(status=str(status))
            metrics.genesys_latency.observe(seconds, call=f"{method} {template}")

        self.connections = {
            name: GenesysConnection.build(conn, http, settings, on_response, clock=clock)
            for name, conn in config.connections.items() if conn.type == PROVIDER_TYPE
        }
        self.background = BackgroundTasks("handover", quiet=(GenesysError,))
        # The parts below follow each handover through these callbacks, added as each is built.
        followers = Followers()
        self.handover = GenesysHandover(sessions, self.connections, config.flags, settings, metrics,
                                        copilot_link=link_maker(config.server.copilot_secret),
                                        followers=followers, clock=clock)
        self.files = AgentFiles(self.connections, app[keys.LINKS], sessions.store,
                                public_url=config.server.public_url, lifetime=settings.attachment_link_seconds,
                                max_bytes=settings.attachment_max_bytes)
        self.delivery = AgentDelivery(self.handover, self.background, self.files)
        self.signers = WebhookSigners(self.connections, self.background, clock=clock)
        self.signature_alarm = SignatureAlarm(self.connections, self.handover, metrics.signature_failures,
                                              self.background, clock=clock.monotonic)
        # Replicas sharing a store share the cluster-wide jobs through its coordination.
        coordination = sessions.store.coordination()
        # Senders stop at once on shutdown: what they hold is in the stored outbox.
        self.senders = BackgroundTasks("outbox", quiet=(GenesysError,))
        self.outbox = OutboxSender(self.handover, self.senders, coordination, clock=clock)
        self.agents = AgentWatch(self.handover, self.connections, settings.agent_check_seconds, clock=clock)
        self.ending = EndDetector(self.handover, settings.acw_timeout_seconds, self.agents, clock=clock)
        self.inbox = WebhookInbox(self.delivery, self.connections, sessions.store, self.background,
                                  wait_seconds=settings.webhook_wait_seconds, signal=self.ending.signal,
                                  clock=clock)
        self.webhook = WebhookReceiver(self.signers, self.inbox, self.signature_alarm, metrics, self.ending.on_event)
        self.unwatched = Unwatched(sessions.store, metrics.unwatched)
        self.wait_estimates = WaitEstimates(self.handover, settings.wait_estimate_seconds, clock=clock)
        # One set of channel slots per OAuth client: connections sharing a client share its 20 channels.
        self.slots: dict[str, ChannelSlots] = {}
        for conn in self.connections.values():
            key = client_key(conn.client.region.api_base, conn.client.client_id)
            self.slots.setdefault(key, ChannelSlots(coordination, key, settings.lease_seconds, clock=clock))
        self.watcher = NotificationsWatcher({
            name: ConnectionNotifications(
                name, conn.client, http, settings, self.ending.on_event, self._reconnected, self.unwatched,
                self.slots[client_key(conn.client.region.api_base, conn.client.client_id)],
                home_queue=_queue_id_of(conn), clock=clock)
            for name, conn in self.connections.items()
        })
        # The provider watches through the cluster: only the notifications lease holder subscribes.
        self.cluster = ClusterDuties(self.watcher, coordination, sessions.store, settings.lease_seconds,
                                     self.background, followers=followers, on_reconciler=self.outbox.resume_all,
                                     clock=clock)
        self.reconciler = Reconciler(self.handover, self.ending, interval=settings.reconcile_interval_seconds,
                                     idle=settings.reconcile_idle_seconds, batch=settings.reconcile_batch,
                                     unwatched_interval=settings.reconcile_unwatched_interval_seconds,
                                     leader=self.cluster.leads_reconciler, sweep=self._sweep, clock=clock)
        self._loops: list[asyncio.Task[None]] = []
        register_provider(sessions, PROVIDER_TYPE, self.handover)

    async def start(self) -> None:
        self.signers.start()
        # Takes the leases it can and subscribes every handover the store holds (after a restart too).
        await self.cluster.start()
        await self.outbox.resume_all()
        # Webhooks answered but not yet delivered when the previous process stopped.
        await self.inbox.replay()
        self._loops.append(asyncio.create_task(self.reconciler.run(), name="reconciler"))
        self._loops.append(asyncio.create_task(self.reconciler.run_unwatched(), name="reconciler-unwatched"))

    async def stop(self) -> None:
        for task in self._loops:
            await cancel_and_wait(task)
        await self.cluster.stop()
        self.signers.stop()
        await self.senders.cancel()
        await self.watcher.stop()
        for slots in self.slots.values():
            await slots.stop()
        await self.ending.close()
        await self.wait_estimates.close()
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

def _queue_id_of(conn: GenesysConnection) -> Callable[[], Awaitable[str]]:
    """The id of the connection's queue (looked up once by the client, then cached)."""
    async def queue_id() -> str:
        return (await conn.queue()).id
    return queue_id


HANDOVER_RUNTIME: web.AppKey[HandoverRuntime] = web.AppKey("handover_runtime")


async def genesys_webhook(request: web.Request) -> web.Response:
    """POST at the declared webhook path (docs/CONTRACT.md 7.1)."""
    runtime = request.app.get(HANDOVER_RUNTIME)
    if runtime is None:
        raise BadInput("no Genesys Cloud connection is configured", 404)
    return await receive(runtime.webhook, request)


async def agent_file(request: web.Request, meta: Mapping[str, Any]) -> web.StreamResponse:
    """An agent attachment's signed link (extension/links.py): the file, streamed from Genesys."""
    runtime = request.app.get(HANDOVER_RUNTIME)
    if runtime is None:
        raise BadInput(texts.LINK_REFUSED, 403)
    return await runtime.files.serve(request, meta)


def install(app: web.Application, config: Config, declaration: ProviderDeclaration) -> None:
    """The provider's factory (manifest.json): the webhook route at the declared path and, when a
    Genesys connection is configured, the runtime."""
    app.router.add_post(declaration.webhook_path, genesys_webhook)
    app[keys.FILE_SOURCES][PROVIDER_TYPE] = agent_file
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
