"""A real stack on loopback: the Genesys Cloud emulator and the runtime, wired to each other (fixture `make_stack`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from extension import keys
from extension.app import build_app
from extension.clock import SYSTEM_CLOCK, Clock
from extension.config import load_config
from extension.genesys.outbound import parse_outbound
from extension.genesys.signature import sign
from extension.manifest import Manifest
from extension.providers.genesys_om.runtime import HANDOVER_RUNTIME, HandoverRuntime
from extension.providers.genesys_om.state import BY_USER
from extension.sessions import Sessions
from extension.store import Store
from extension.testing.clock import ManualClock
from extension.testing.emulator import Emulator, EmulatorConfig
from extension.testing.emulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_INTEGRATION_ID,
    DEFAULT_WEBHOOK_SECRET,
)

from support import eventually

FLAGS = {"FEATURE_ENABLE_GENESYS_CLOUD_OM": "true", "FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST": "*"}

HANDOVER_FLOW: dict[str, Any] = {
    "name": "handover",
    "nodes": [
        {"id": "welcome", "type": "say", "config": {"text": "Hi, I am the bot."}},
        {"id": "wait", "type": "waitForInput"},
        {"id": "route", "type": "switch",
         "config": {"on": "input.text", "cases": {"/agent/i": "handover"}, "default": "echo"}},
        {"id": "echo", "type": "say", "config": {"text": "echo: {{input.text}}"}, "next": "wait"},
        {"id": "handover", "type": "handoverToAgent",
         "config": {"cancelButtonText": "Cancel", "customAttributes": {"tier": "gold"}, "skills": ["en", "billing"],
                    "priority": 5, "language": "en-GB"}},
        {"id": "after", "type": "switch", "config": {
            "on": "input.handover.status",
            "cases": {"completed": "done", "cancelled": "cancelled", "active": "active", "queue": "queued"},
            "default": "failed"}},
        {"id": "done", "type": "say", "config": {"text": "Back with the bot."}, "next": "wait"},
        {"id": "cancelled", "type": "say", "config": {"text": "Handover cancelled."}, "next": "wait"},
        {"id": "active", "type": "say", "config": {"text": "An agent joined."}, "next": "hold"},
        {"id": "queued", "type": "say", "config": {"text": "You are in the queue."}, "next": "hold"},
        {"id": "hold", "type": "waitForInput", "next": "after"},
        {"id": "failed", "type": "say", "config": {"text": "No agent: {{input.handover.reason}}"}, "next": "wait"},
    ],
}

HANDOVER_SETTINGS = """
[handover]
retry_attempts = 3
retry_total_seconds = 3.0
request_timeout_seconds = 2.0
acw_timeout_seconds = {acw_timeout}
reconcile_interval_seconds = {reconcile_interval}
reconcile_idle_seconds = 0
heartbeat_timeout_seconds = {watchdog}
delivery_notice_seconds = 0.5
outbox_retry_max_seconds = 0.3
# Off unless a test turns it on: an estimate is one more event after every start.
wait_estimate_seconds = {wait_estimate}
"""


def runtime_config_text(emulator_url: str, *, store: str, settings: str, port: int | None = None,
                        store_extra: str = "", connection_extra: str = "", server_extra: str = "",
                        session_access: str = "open") -> str:
    """A runtime config wired to an emulator: connection `support`, endpoint `support-bot`, flow.json.

    The endpoint takes the ids alone unless `session_access` says otherwise (the `Stack` helpers
    carry session tokens too); session access is tested in test_session_access.py.
    """
    server = (f'host = "127.0.0.1"\nport = {port}\npublic_url = "http://127.0.0.1:{port}"' if port is not None
              else 'public_url = "http://127.0.0.1"')
    return f"""
[server]
{server}
{server_extra}
[store]
url = "{store}"
{store_extra}
[connections.support]
type = "genesysCloudOM"
host = "{emulator_url}"
deploymentName = "BotHandover"
queue = "Support"
webhookSecret = "{DEFAULT_WEBHOOK_SECRET}"
clientId = "{DEFAULT_CLIENT_ID}"
clientSecret = "{DEFAULT_CLIENT_SECRET}"
{connection_extra}
[[endpoints]]
urlToken = "support-bot"
organisation = "acme"
flow = "flow.json"
handover = "support"
sessionAccess = "{session_access}"
{settings}
"""


class Stack:
    """The emulator, the runtime behind a real port, and helpers to talk as the user."""

    def __init__(self, emulator: Emulator, client: TestClient[Any, Any], token: str = "support-bot",
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.emu = emulator
        self.client = client
        # The runtime's clock: a test that gave a ManualClock advances it instead of sleeping.
        self.clock = clock
        self.token = token
        # Each user's session token (docs/CONTRACT.md 5.1), from the answer to the session's first input.
        self.session_tokens: dict[str, str] = {}

    def auth(self, user: str = "u1") -> dict[str, str]:
        """The header that proves the session of `user` is theirs (none before its first input)."""
        token = self.session_tokens.get(user)
        return {"X-Session-Token": token} if token else {}

    async def say(self, text: str | None = None, data: dict[str, Any] | None = None,
                  user: str = "u1") -> dict[str, Any]:
        body: dict[str, Any] = {"userId": user, "sessionId": "s1"}
        if text is not None:
            body["text"] = text
        if data is not None:
            body["data"] = data
        resp = await self.client.post(f"/{self.token}", json=body, headers=self.auth(user))
        assert resp.status == 200, await resp.text()
        answer = dict(await resp.json())
        if "sessionToken" in answer:
            self.session_tokens[user] = answer["sessionToken"]
        return answer

    async def events(self, user: str = "u1", after: int = 0) -> list[dict[str, Any]]:
        resp = await self.client.get(f"/{self.token}/events", headers=self.auth(user),
                                     params={"userId": user, "sessionId": "s1", "after": str(after)})
        return list((await resp.json())["events"])

    async def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], user: str = "u1",
                       within: float = 10.0) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            events = await self.events(user)
            if predicate(events):
                return events
            if loop.time() > deadline:
                raise AssertionError(f"condition not reached; events: {json.dumps(events, indent=1)}")
            await asyncio.sleep(0.02)

    async def handover_statuses(self, user: str = "u1") -> list[str]:
        return [e["status"] for e in await self.events(user) if e["type"] == "handover"]

    async def wait_status(self, status: str, user: str = "u1") -> list[dict[str, Any]]:
        return await self.wait_for(lambda ev: any(e["type"] == "handover" and e["status"] == status for e in ev), user)

    async def conversation_id(self) -> str:
        waiting = self.emu.agent.waiting() + self.emu.agent.active()
        assert waiting, "no conversation in the emulator"
        return waiting[-1].id

    async def subscribed(self, cid: str, within: float = 10.0) -> None:
        """Wait until the runtime's notifications channel subscribed to this conversation."""
        await eventually(lambda: any(r.path.endswith("/subscriptions") and r.method in ("PUT", "POST")
                                     and r.status == 200 and cid in json.dumps(r.json) for r in self.emu.requests),
                         f"conversation {cid} subscribed", within=within, every=0.01)

    @property
    def _runtime(self) -> HandoverRuntime:
        """The Genesys provider's running parts: tests read and drive them through the typed view below."""
        return self.client.app[HANDOVER_RUNTIME]

    # A typed view of the runtime's handover parts: tests read and drive them only through these.
    async def reconcile_upkeep(self) -> None:
        """One upkeep pass of the reconciler: unconfirmed disconnects, dead starts, stale user ids."""
        await self._runtime.reconciler.upkeep()

    async def reconcile(self, *, everything: bool = False) -> int:
        """One check pass of the reconciler (quiet handovers, or all); how many it ended."""
        return await self._runtime.reconciler.check_once(everything=everything)

    def pending_end(self, cid: str) -> asyncio.Task[None] | None:
        """The wait that confirms the end of `cid` (the transfer debounce), while one runs."""
        return self._runtime.ending.pending(cid)

    @property
    def acw_timeout(self) -> float:
        """The runtime's end debounce (acw_timeout_seconds)."""
        return self._runtime.ending.acw_timeout

    def agent_check(self, cid: str) -> asyncio.Task[None] | None:
        """The check that waits for an agent to answer `cid`, while one runs."""
        return self._runtime.agents.check(cid)

    def agent_watched(self, cid: str) -> bool:
        """Whether the runtime still waits for an agent to answer `cid`."""
        return self._runtime.agents.watching(cid)

    def watched(self, connection: str = "support") -> set[str]:
        """The conversations of `connection` this replica's notifications subscribed to."""
        return self._runtime.watcher.watching(connection)

    def waiting(self, connection: str = "support") -> set[str]:
        """The conversations of `connection` waiting for room on a notifications channel."""
        return self._runtime.watcher.waiting(connection)

    def unwatched(self, connection: str = "support") -> set[str]:
        """The conversations of `connection` no notification watches (left to the reconciler)."""
        return self._runtime.watcher.unwatched(connection)

    def leads(self, duty: str) -> bool:
        """Whether this replica holds the lease of a cluster duty (e.g. `notifications:support`)."""
        return self._runtime.cluster.leads(duty)

    def leads_reconciler(self) -> bool:
        """Whether this replica holds the reconciler lease."""
        return self._runtime.cluster.leads_reconciler()

    @property
    def reconciler_checks(self) -> int:
        """How many check passes this replica's reconciler ran."""
        return self._runtime.reconciler.checks

    async def typing_sent(self) -> None:
        """Wait until the typing events in flight reached Genesys."""
        await self._runtime.handover.typing_sent()

    def inbox_draining(self, key_id: str) -> bool:
        """Whether the webhook inbox holds messages of session `key_id` waiting for it."""
        return self._runtime.inbox.draining(key_id)

    async def bearer(self, connection: str = "support") -> str:
        """The Authorization header the runtime sends to Genesys for `connection`."""
        return f"Bearer {await self._runtime.connections[connection].client.tokens.get()}"

    def signalled(self, cid: str) -> bool:
        """Whether the runtime read an event of `cid` since the handover started (or since `forget_signal`)."""
        return cid in self._runtime.ending.last_signal

    def forget_signal(self, cid: str) -> None:
        """Forget the last event read of `cid`, so `signalled` tells of the next one."""
        self._runtime.ending.last_signal.pop(cid, None)

    def integration_id(self, connection: str = "support") -> str | None:
        """The Open Messaging integration id the connection resolved (None while its lookup runs)."""
        return self._runtime.connections[connection].integration_id

    def channel_ids(self, connection: str = "support") -> list[str | None]:
        """The ids of this replica's notifications channels of `connection` (None while one connects)."""
        return [loop.channel_id for loop in self._runtime.watcher.connections[connection].channels]

    async def notifications_connected(self, connection: str = "support", within: float = 10) -> None:
        """Wait until the first notifications channel of `connection` connected."""
        channels = self._runtime.watcher.connections[connection].channels
        await eventually(lambda: channels, f"a notifications channel of {connection}")
        await asyncio.wait_for(channels[0].connected.wait(), within)

    def printed_connections(self) -> str:
        """What the runtime's connections and their API clients print as (in logs and reprs)."""
        runtime = self._runtime
        return repr(runtime.connections) + "".join(repr(c.client) for c in runtime.connections.values())

    @property
    def sessions(self) -> Sessions:
        """The runtime's sessions (its public AppKey)."""
        return self.client.app[keys.SESSIONS]

    async def resync(self, connection: str = "support") -> None:
        """Bring this replica's notifications of `connection` in line with the stored handovers now."""
        await self._runtime.cluster.resync(connection)

    # Spies and hooks on the runtime's parts, for the rest of the stack's life.
    def spy_spawns(self) -> list[str]:
        """Names of the background tasks the runtime starts from now on."""
        names: list[str] = []
        group = self._runtime.background
        spawn = group.spawn

        def recording(coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
            names.append(name or "")
            return spawn(coro, name=name)

        group.spawn = recording  # type: ignore[method-assign]
        return names

    def spy_user_lookups(self) -> asyncio.Event:
        """Set once the runtime looked up the recipient of an agent-side message (by Genesys user id)."""
        handover = self._runtime.handover
        original = handover.session_of
        looked = asyncio.Event()

        async def session_of(namespace: str, genesys_id: str) -> Any:
            try:
                return await original(namespace, genesys_id)
            finally:
                if namespace == BY_USER:
                    looked.set()

        handover.session_of = session_of  # type: ignore[method-assign]
        return looked

    def spy_notifications(self, connection: str = "support") -> tuple[list[Any], list[str]]:
        """The notification events the runtime handles from now on, and the channel reconnects it reports."""
        conn = self._runtime.watcher.connections[connection]
        handled: list[Any] = []
        reconnects: list[str] = []
        on_event, on_reconnect = conn.on_event, conn.on_reconnect

        async def record_event(name: str, event: Any) -> None:
            handled.append(event)
            await on_event(name, event)

        async def record_reconnect(name: str) -> None:
            reconnects.append(name)
            await on_reconnect(name)

        conn.on_event, conn.on_reconnect = record_event, record_reconnect
        return handled, reconnects

    def not_leader(self) -> None:
        """The reconciler runs no passes of its own, as on a replica without its lease (`reconcile` still runs)."""
        self._runtime.reconciler.leader = lambda: False

    async def prune_users(self) -> int:
        """One pruning of stored Genesys user ids no handover uses; how many it removed."""
        return await self._runtime.reconciler.prune_users()

    async def deliver_at_once(self, bodies: list[dict[str, Any]], *,
                              return_exceptions: bool = False) -> list[Any]:
        """Agent messages handed to the webhook inbox in one pass of the event loop, as a burst arrives."""
        inbox = self._runtime.inbox
        candidates = list(self._runtime.connections.values())
        return list(await asyncio.gather(*(inbox.deliver(candidates, parse_outbound(b), b) for b in bodies),
                                         return_exceptions=return_exceptions))

    @property
    def store(self) -> Store:
        """The store the runtime uses (its public AppKey)."""
        return self.client.app[keys.STORE]


def manual_clock(stack: Stack) -> ManualClock:
    """The stack's clock, which the test gave as a ManualClock (`make_stack(clock=ManualClock())`)."""
    assert isinstance(stack.clock, ManualClock), "this stack runs on the system clock"
    return stack.clock


async def debounce_armed(stack: Stack, cid: str) -> None:
    """Wait until the end debounce of `cid` sleeps on the stack's ManualClock: advancing past it fires it."""
    clock = manual_clock(stack)
    await eventually(lambda: clock.asleep(stack.pending_end(cid)), "the end debounce armed")


@contextlib.asynccontextmanager
async def read_by_the_runtime(stack: Stack, cid: str) -> AsyncIterator[None]:
    """Around what makes Genesys notify about `cid`: on exit, the runtime has read an event of it."""
    stack.forget_signal(cid)  # every event read records the conversation's last signal
    yield
    await eventually(lambda: stack.signalled(cid), f"an event of conversation {cid} read")


async def past_the_debounce(stack: Stack, cid: str) -> None:
    """Fire the armed end debounce of `cid`: time moves on by the runtime's acw_timeout_seconds."""
    await debounce_armed(stack, cid)
    await manual_clock(stack).advance(stack.acw_timeout)


def texts(events: list[dict[str, Any]], source: str | None = None) -> list[str | None]:
    return [e["text"] for e in events if e["type"] == "output" and (source is None or e["source"] == source)]


StackFactory = Callable[..., Awaitable[Stack]]


@pytest.fixture
async def make_stack(tmp_path: Path, manifest: Manifest) -> AsyncIterator[StackFactory]:
    started: list[tuple[Emulator, TestClient[Any, Any]]] = []

    async def make(*, flow: dict[str, Any] | None = None, store: str = "memory://", store_extra: str = "",
                   extra: str = "",
                   env: dict[str, str] | None = None, emulator: Emulator | None = None,
                   emulator_config: EmulatorConfig | None = None, connection_extra: str = "",
                   server_extra: str = "", reconcile_interval: float = 3600, watchdog: float = 5,
                   session_access: str = "open", clock: Clock = SYSTEM_CLOCK, wait_estimate: float = 0,
                   acw_timeout: float = 0.3) -> Stack:
        emu = emulator or Emulator(emulator_config or EmulatorConfig(webhook_retry_delay=0.05,
                                                                     heartbeat_interval=0.5))
        if emu.base_url is None:
            await emu.start()
        (tmp_path / "flow.json").write_text(json.dumps(flow or HANDOVER_FLOW))
        config_path = tmp_path / "config.toml"
        config_path.write_text(runtime_config_text(
            emu.base_url, store=store, store_extra=store_extra, connection_extra=connection_extra,
            server_extra=server_extra, session_access=session_access,
            settings=HANDOVER_SETTINGS.format(reconcile_interval=reconcile_interval, watchdog=watchdog,
                                              wait_estimate=wait_estimate, acw_timeout=acw_timeout) + extra))
        config = load_config(config_path, manifest, env={**FLAGS, **(env or {})})
        server = TestServer(build_app(config, manifest, clock=clock), host="127.0.0.1")
        client: TestClient[Any, Any] = TestClient(server)
        await client.start_server()
        for integration in emu.config.integrations:
            integration.webhook_url = str(server.make_url("/handover/genesysCloudOM"))
        started.append((emu, client))
        return Stack(emu, client, clock=clock)

    yield make
    for emu, client in reversed(started):
        await client.close()
        if emu.base_url is not None:
            await emu.stop()


async def start_handover(stack: Stack, user: str = "u1") -> str:
    await stack.say("hello", user=user)
    answer = await stack.say("I want an agent", user=user)
    assert answer["outputStack"][0]["text"] == "You are being connected to an agent."
    assert answer["outputStack"][0]["data"] == {"quickReplies": [{"title": "Cancel", "payload": "cancel"}]}
    cid = await stack.conversation_id()
    await stack.subscribed(cid)
    return cid


WEBHOOK_URL = "/handover/genesysCloudOM"


def agent_message(to_id: str, text: str = "hello", message_id: str = "m-1", **extra: Any) -> dict[str, Any]:
    return {
        "id": message_id,
        "channel": {"id": DEFAULT_INTEGRATION_ID, "platform": "Open", "type": "Private", "messageId": message_id,
                    "to": {"id": to_id, "idType": "Opaque"},
                    "from": {"nickname": "BotHandover", "id": DEFAULT_INTEGRATION_ID, "idType": "Opaque"},
                    "time": "2026-01-15T10:01:05.427Z"},
        "type": "Text", "text": text, "originatingEntity": "Human", "direction": "Outbound", **extra,
    }


async def post_signed(stack: Stack, body: dict[str, Any] | bytes, secret: str = DEFAULT_WEBHOOK_SECRET,
                      signature: str | None = None) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if signature != "":
        headers["X-Hub-Signature-256"] = signature if signature is not None else sign(secret, raw)
    resp = await stack.client.post(WEBHOOK_URL, data=raw, headers=headers)
    return resp.status, await resp.json()


async def genesys_user_id(stack: Stack) -> str:
    first = next(r for r in stack.emu.requests if r.path.endswith("/inbound/open/message"))
    return str(first.json["channel"]["from"]["id"])


async def wait_inbound(stack: Stack, cid: str, expected: list[str]) -> None:
    """Wait until the conversation's last accepted inbound messages are `expected`."""
    await eventually(lambda: [m.text for m in stack.emu.inbound_messages(cid)][-len(expected):] == expected,
                     f"the last inbound messages of {cid} to be {expected}", within=20.0)


async def eventually_inbound(stack: Stack, cid: str, wanted: Callable[[Any], bool], count: int = 1) -> list[Any]:
    """The conversation's accepted inbound entries matching `wanted`, once there are `count` of them."""
    def found() -> list[Any]:
        matching = [e for e in stack.emu.inbound_messages(cid) if wanted(e)]
        return matching if len(matching) >= count else []

    return list(await eventually(found, f"{count} matching inbound message(s)"))
