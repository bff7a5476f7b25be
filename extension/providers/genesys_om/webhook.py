"""POST /handover/genesysCloudOM: signed agent messages, and key-authorized end events."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

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
from .delivery import AgentDelivery, Found
from .signature_alarm import SignatureAlarm
from .signers import WebhookSigners
from .state import PROVIDER

T = TypeVar("T")
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


@dataclass
class _Queued:
    """An agent message waiting for its session, in arrival order; `entry` names its stored copy."""

    candidates: list[GenesysConnection]
    message: OutboundMessage
    done: asyncio.Future[str]
    # When it came, and its place among those that came at the same time: a replay keeps this order.
    at: float
    seq: int
    entry: str | None = None


class WebhookInbox:
    """Delivers verified agent messages in order per session; a busy session's are stored first.

    A free session takes a message inline. A busy one (a turn holds its lock) starts its backlog:
    one drainer per session delivers what queued, in arrival order, a batch per turn. The first
    message of a backlog is waited for up to `wait_seconds` (answered with its real outcome when
    it is delivered in time); any later one while the backlog runs, and the first after its wait,
    is written to the store before the answer (`accepted`), so nothing answered is lost if the
    process dies, and the drainer drops each stored copy once its batch is committed. A handover
    start, cancel or close holds the session across Genesys calls and their retries, which can
    outlast Genesys' 10 s webhook timeout; a hot conversation (many agent messages at once) is
    answered without waiting for the turns before it. The dedup on `id` inside the delivery makes a
    replay of a stored copy harmless.
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
        self._backlogs: dict[str, list[_Queued]] = {}
        # Messages of a free session gathered for one inline turn (the first has no future: it delivers).
        self._gathering: dict[str, list[tuple[list[GenesysConnection], OutboundMessage,
                                              asyncio.Future[str] | None]]] = {}
        self._seq = itertools.count()
        # Stored copies a drainer of this process will deliver: the periodic replay leaves them.
        self._held: set[str] = set()
        # Stored copies asked for in the same pass of the event loop (a burst): written together.
        self._storing: list[tuple[str, str, asyncio.Future[None] | None]] | None = None

    async def deliver(self, candidates: list[GenesysConnection], message: OutboundMessage, body: Any) -> str:
        """The delivery outcome, or `accepted` when the message was stored to be delivered later."""
        self.signal(message.conversation_id)
        early = self.delivery.screen(message)
        if early is not None:
            return early
        found = await self.delivery.locate(message)
        if found is None:
            return await self.delivery.deliver_to(candidates, message, found)
        key_id = found[1].id
        backlog = self._backlogs.get(key_id)
        # A free session lock is taken at once (nothing between here and the turn waits), so no
        # Genesys call of another turn can hold the answer up: delivered inline, without a task.
        if backlog is None and self.store.lock_surely_free(key_id):
            return await self._deliver_gathered(key_id, candidates, message, found)
        queued = _Queued(candidates, message, asyncio.get_running_loop().create_future(), self.clock.time(),
                         next(self._seq))
        if backlog is not None:
            # Behind others of a busy session: queued at once (its place is its arrival), stored,
            # answered; the drainer delivers it in turn.
            backlog.append(queued)
            await self._store(queued, body)
            if queued.done.done():  # delivered while it was being stored
                await self._forget(queued)
            return "accepted"
        self._backlogs[key_id] = [queued]
        self.background.spawn(self._drain(key_id, found), name="webhook-delivery")
        with contextlib.suppress(TimeoutError):
            return str(await self.clock.wait_for(asyncio.shield(queued.done), self.wait_seconds))
        await self._store(queued, body)
        if queued.done.done():  # delivered while it was being stored
            await self._forget(queued)
        return "accepted"

    async def _deliver_gathered(self, key_id: str, candidates: list[GenesysConnection], message: OutboundMessage,
                                found: Found) -> str:
        """Deliver inline, in one turn with the messages of the session that arrive in the same pass
        of the event loop (a burst from Genesys): one read and one commit of the session for all,
        each webhook answered with its own outcome once that commit is stored."""
        gathering = self._gathering.get(key_id)
        if gathering is not None:
            joined: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            gathering.append((candidates, message, joined))
            return await joined
        gathering = self._gathering[key_id] = [(candidates, message, None)]
        try:
            await asyncio.sleep(0)  # the others of this pass join here
        finally:
            del self._gathering[key_id]
        followers = [future for _, _, future in gathering[1:] if future is not None]
        try:
            outcomes = await self.delivery.deliver_batch([(c, m) for c, m, _ in gathering], found)
        except BaseException as exc:
            # Nothing of the turn was stored: every webhook of it fails, and Genesys redelivers.
            _fail_all(followers, exc, "delivery turn")
            raise
        _resolve_all(followers, outcomes[1:])
        return outcomes[0]

    def draining(self, key_id: str) -> bool:
        """Whether this session's agent messages queue behind a busy turn (for tests and metrics)."""
        return key_id in self._backlogs

    async def _store(self, queued: _Queued, body: Any) -> None:
        """Store the message durably before its webhook is answered `accepted`. The copies asked for
        in the same pass of the event loop are written in one store write, each webhook going on
        once that write is done; a failed write fails them all (Genesys redelivers each)."""
        entry = f"{queued.candidates[0].name}:{queued.message.id}"
        names = [conn.name for conn in queued.candidates]
        value = json.dumps({"connections": names, "at": queued.at, "seq": queued.seq, "body": body})
        self._held.add(entry)
        try:
            if self._storing is not None:
                written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._storing.append((entry, value, written))
                await written
            else:
                await self._store_gathered(entry, value)
        except BaseException:
            self._held.discard(entry)
            raise
        queued.entry = entry

    async def _store_gathered(self, entry: str, value: str) -> None:
        gathering = self._storing = [(entry, value, None)]
        try:
            await asyncio.sleep(0)  # the others of this pass join here
        finally:
            self._storing = None
        followers = [future for _, _, future in gathering[1:] if future is not None]
        try:
            if followers:
                await self.store.index_set_many(INBOX, {e: v for e, v, _ in gathering})
            else:
                await self.store.index_set(INBOX, entry, value)
        except BaseException as exc:
            _fail_all(followers, exc, "store write")
            raise
        _resolve_all(followers, [None] * len(followers))

    async def _drain(self, key_id: str, found: Found) -> None:
        """Deliver the session's backlog in arrival order, each batch in one turn, until it is empty."""
        backlog = self._backlogs[key_id]
        try:
            while backlog:
                batch = list(backlog)
                del backlog[:]
                try:
                    outcomes = await self.delivery.deliver_batch([(q.candidates, q.message) for q in batch], found)
                except Exception as exc:
                    # The stored copies stay for the replay; a message not stored yet is answered
                    # by its waiting webhook with the failure (Genesys redelivers it).
                    for q in batch:
                        self._give_up(q, exc)
                    raise
                for q, outcome in zip(batch, outcomes, strict=True):
                    if not q.done.done():
                        q.done.set_result(outcome)
                # The batch's stored copies go in one write (a backlog's cost is per batch, not per message).
                await self._forget(*batch)
        finally:
            if self._backlogs.get(key_id) is backlog:
                del self._backlogs[key_id]
            for q in backlog:  # left by a failure: their stored copies wait for the replay
                self._give_up(q, None)

    def _give_up(self, queued: _Queued, exc: Exception | None) -> None:
        """A message the drainer could not deliver: its stored copy is the replay's, and the webhook
        still waiting for it (one not stored yet) gets the failure."""
        if queued.entry is not None:
            self._held.discard(queued.entry)
        if queued.done.done():
            return
        if exc is not None and queued.entry is None:
            queued.done.set_exception(exc)
        else:
            queued.done.cancel()

    async def _forget(self, *delivered: _Queued) -> None:
        """Drop the stored copies of delivered messages (none for those answered inline)."""
        entries = []
        for queued in delivered:
            if queued.entry is not None:
                entries.append(queued.entry)
                self._held.discard(queued.entry)
                queued.entry = None
        if len(entries) == 1:
            await self.store.index_delete(INBOX, entries[0])
        elif entries:
            await self.store.index_delete_many(INBOX, entries)

    async def replay(self, older_than: float = 0.0) -> int:
        """Deliver the stored messages (received at least `older_than` seconds ago) in the order they
        came; returns how many. Those a drainer of this process still holds are left to it."""
        stored: list[tuple[float, int, str, list[GenesysConnection], OutboundMessage]] = []
        for entry, value in (await self.store.index_items(INBOX)).items():
            if entry in self._held:
                continue
            try:
                doc = json.loads(value)
                received = float(doc["at"])
                seq = int(doc.get("seq", 0))
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
            stored.append((received, seq, entry, candidates, message))
        stored.sort(key=lambda s: (s[0], s[1]))
        if stored:
            self.background.spawn(self._replay_in_order(stored), name="webhook-replay")
        return len(stored)

    async def _replay_in_order(self, stored: list[tuple[float, int, str, list[GenesysConnection],
                                                         OutboundMessage]]) -> None:
        for _, _, entry, candidates, message in stored:
            # Screened and located again: the session may have moved on since it was stored.
            try:
                outcome = await self.delivery.deliver(candidates, message)
            except Exception as exc:  # the stored copy stays for the next replay
                log.warning("stored webhook %s not delivered yet: %s", entry, exc)
                continue
            log.debug("stored webhook %s: %s", entry, outcome)
            await self.store.index_delete(INBOX, entry)


def _fail_all(followers: Sequence[asyncio.Future[T]], exc: BaseException, what: str) -> None:
    """Every webhook that joined a gathered write fails with its failure (a cancellation becomes an
    error naming `what`)."""
    failure = exc if isinstance(exc, Exception) else RuntimeError(f"the {what} was cancelled")
    for future in followers:
        if not future.done():
            future.set_exception(failure)


def _resolve_all(followers: Sequence[asyncio.Future[T]], results: Sequence[T]) -> None:
    """Every webhook that joined a gathered write gets its own result."""
    for future, result in zip(followers, results, strict=True):
        if not future.done():
            future.set_result(result)
