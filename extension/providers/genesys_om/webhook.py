"""POST /handover/genesysCloudOM: signed agent messages, and key-authorized end events."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ... import bounded_json, texts
from ...clock import SYSTEM_CLOCK, Clock
from ...genesys import MalformedMessage
from ...genesys.notifications_topics import ConversationEvent, parse_http_end_event
from ...genesys.outbound import OutboundMessage, parse_outbound
from ...genesys.signature import HEADER
from ...manifest import Manifest, load_manifest
from ...metrics import Metrics
from ...request_bodies import json_error, read_body
from ...store import Store
from ...tasks import BackgroundTasks
from .connection import GenesysConnection
from .delivery import AgentDelivery
from .signature_alarm import SignatureAlarm
from .signers import WebhookSigners
from .state import PROVIDER

log = logging.getLogger("extension.providers.genesys_om.webhook")


def webhook_path(manifest: Manifest | None = None) -> str:
    """Where Genesys posts to this provider: the `webhookPath` the manifest declares for it."""
    declaration = (manifest or load_manifest()).provider_of(PROVIDER)
    if declaration is None:
        raise LookupError(f"manifest.json declares no handover provider for connection type {PROVIDER!r}")
    return declaration.webhook_path


# Verified agent messages whose session was busy too long to wait for: kept until delivered.
INBOX = "om:webhook-inbox"


def _integration_id(body: Any) -> str | None:
    """`channel.id`, else `channel.from.id`, read before the signature is checked (to pick the secret)."""
    if not isinstance(body, dict) or not isinstance(body.get("channel"), dict):
        return None
    channel = body["channel"]
    if isinstance(channel.get("id"), str):
        return str(channel["id"])
    sender = channel.get("from")
    if isinstance(sender, dict) and isinstance(sender.get("id"), str):
        return str(sender["id"])
    return None


@dataclass(frozen=True)
class WebhookReceiver:
    """What the webhook route works with; the handover runtime builds it."""

    signers: WebhookSigners
    inbox: WebhookInbox
    alarm: SignatureAlarm
    metrics: Metrics
    on_end_event: Callable[[str, ConversationEvent], Awaitable[None]]


async def receive(receiver: WebhookReceiver, request: web.Request) -> web.Response:
    """Verify, parse, and hand the agent message to the inbox (or an end event to the end detector)."""
    started = time.perf_counter()
    metrics = receiver.metrics
    raw = await read_body(request)
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return await _end_event(receiver, raw, auth[7:].strip())
    # The signature is checked on the raw bytes before anything of the body is read (docs/CONTRACT.md 7.1).
    signature = request.headers.get(HEADER)
    signed = receiver.signers.signed_by(raw, signature)
    if not signed:
        metrics.webhooks.inc(outcome="invalid_signature")
        if signature:
            # Genesys always signs: a signature that fails most likely means a wrong webhookSecret.
            receiver.alarm.refused(raw)
        return json_error(401, texts.INVALID_SIGNATURE)
    try:
        body = bounded_json.loads(raw)
    except ValueError as exc:  # TooDeep is a ValueError too, with its own message
        metrics.webhooks.inc(outcome="not_json")
        return json_error(400, str(exc) if isinstance(exc, bounded_json.TooDeep) else texts.NOT_JSON)
    candidates = receiver.signers.candidates(signed, _integration_id(body))
    if not candidates:
        # Signed with a known secret but for an integration none of those connections uses.
        metrics.webhooks.inc(outcome="invalid_signature")
        return json_error(401, texts.INVALID_SIGNATURE)
    try:
        message = parse_outbound(body)
    except MalformedMessage as exc:
        # Signed by Genesys but not understood: accepted, so the chat is not broken by a retry loop.
        log.debug("signed webhook body not understood: %s", exc)
        metrics.webhooks.inc(outcome="malformed")
        return web.json_response({"status": "ignored"})
    outcome = await receiver.inbox.deliver(candidates, message, body)
    metrics.webhooks.inc(outcome=outcome)
    metrics.webhook_latency.observe(time.perf_counter() - started)
    return web.Response(body=_answer(outcome), content_type="application/json", charset="utf-8")


@functools.lru_cache(maxsize=32)
def _answer(outcome: str) -> bytes:
    """The encoded `{"status": outcome}` answer (a handful of outcomes, encoded once each)."""
    return json.dumps({"status": outcome}).encode()


async def _end_event(receiver: WebhookReceiver, raw: bytes, key: str) -> web.Response:
    conn = receiver.signers.for_end_key(key)
    if conn is None:
        receiver.metrics.webhooks.inc(outcome="invalid_key")
        return json_error(401, "invalid key")
    try:
        event = parse_http_end_event(bounded_json.loads(raw))
    except ValueError as exc:  # MalformedMessage is a ValueError, so are bad and too deep JSON
        if isinstance(exc, MalformedMessage):
            return json_error(400, f"not an end event: {exc}")
        return json_error(400, str(exc) if isinstance(exc, bounded_json.TooDeep) else texts.NOT_JSON)
    if event is None:
        return web.json_response({"status": "ignored"})
    await receiver.on_end_event(conn.name, event)
    receiver.metrics.webhooks.inc(outcome="end_event")
    return web.json_response({"status": "accepted"})


class WebhookInbox:
    """Delivers verified agent messages; one whose session stays locked is stored and answered.

    A handover start, cancel or close holds the session across Genesys calls and their retries,
    which can outlast Genesys' 10 s webhook timeout. After `wait` seconds the message is written
    to the store (so the answer loses nothing if the process dies) and delivered when the session
    frees; the dedup on `id` inside the delivery makes a replay of the stored copy harmless.
    """

    def __init__(self, delivery: AgentDelivery, connections: Mapping[str, GenesysConnection], store: Store,
                 background: BackgroundTasks, *, wait_seconds: float,
                 signal: Callable[[str | None], None], clock: Clock = SYSTEM_CLOCK) -> None:
        self.delivery = delivery
        self.connections = connections
        self.clock = clock
        self.store = store
        self.background = background
        self.wait_seconds = wait_seconds
        # A webhook about a conversation is a sign of life of it (the end detector's reconciler).
        self.signal = signal

    async def deliver(self, candidates: list[GenesysConnection], message: OutboundMessage, body: Any) -> str:
        """The delivery outcome, or `accepted` when the message was stored to be delivered later."""
        self.signal(message.conversation_id)
        early = self.delivery.screen(message)
        if early is not None:
            return early
        found = await self.delivery.locate(message)
        # A free session lock is taken at once (nothing between here and the turn waits), so no
        # Genesys call of another turn can hold the answer up: delivered inline, without a task.
        if found is None or self.store.lock_surely_free(found[1].id):
            return await self.delivery.deliver_to(candidates, message, found)
        task = self.background.spawn(self.delivery.deliver_to(candidates, message, found), name="webhook-delivery")
        done, _ = await asyncio.wait({task}, timeout=self.wait_seconds)
        if done:
            return str(task.result())
        entry = f"{candidates[0].name}:{message.id}"
        names = [conn.name for conn in candidates]
        await self.store.index_set(INBOX, entry, json.dumps({"connections": names, "at": self.clock.time(),
                                                             "body": body}))
        self.background.spawn(self._forget_when_done(task, entry), name="webhook-inbox")
        return "accepted"

    async def replay(self, older_than: float = 0.0) -> int:
        """Deliver the stored messages (received at least `older_than` seconds ago); returns how many."""
        count = 0
        for entry, value in (await self.store.index_items(INBOX)).items():
            try:
                doc = json.loads(value)
                received = float(doc["at"])
                # Entries written before connections were stored as a list name one.
                names = doc["connections"] if "connections" in doc else [doc["connection"]]
                candidates = [self.connections[n] for n in names if n in self.connections]
                message = parse_outbound(doc["body"]) if candidates else None
            except (ValueError, KeyError, TypeError) as exc:  # MalformedMessage is a ValueError
                log.warning("stored webhook %s dropped: %s", entry, exc)
                await self.store.index_delete(INBOX, entry)
                continue
            if not candidates or message is None:
                log.warning("stored webhook %s dropped: its connection is no longer configured", entry)
                await self.store.index_delete(INBOX, entry)
                continue
            if self.clock.time() - received < older_than:
                continue
            # Screened and located again: the session may have moved on since it was stored.
            task = self.background.spawn(self.delivery.deliver(candidates, message), name="webhook-replay")
            self.background.spawn(self._forget_when_done(task, entry), name="webhook-inbox")
            count += 1
        return count

    async def _forget_when_done(self, task: asyncio.Task[Any], entry: str) -> None:
        """Drop the stored copy once the delivery is committed; a failed one stays for a replay."""
        try:
            outcome = await asyncio.shield(task)
        except Exception:  # logged by the task group; the stored copy is replayed later
            return
        log.debug("stored webhook %s: %s", entry, outcome)
        await self.store.index_delete(INBOX, entry)
