"""Process entry points: the runtime (handovers started through its real start path) and bare handlers."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from extension import keys
from extension.app import build_app
from extension.config import load_config
from extension.flows.session import SessionKey
from extension.genesys.messages import delivery_receipt
from extension.genesys.outbound import parse_outbound
from extension.genesys.signature import HEADER, verify
from extension.manifest import load_manifest
from extension.providers.genesys_om.runtime import HANDOVER_RUNTIME
from extension.providers.genesys_om.state import HandoverState
from extension.sessions import UserInput
from extension.testing.emulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_INTEGRATION_ID,
    DEFAULT_WEBHOOK_SECRET,
)

TOKEN = "bench"
FLOW = {"name": "bench", "nodes": [
    {"id": "hello", "type": "say", "config": {"text": "Hello from the bench bot."}},
    {"id": "wait", "type": "waitForInput"},
    {"id": "handover", "type": "handoverToAgent", "config": {"sendTranscript": True}},
    {"id": "back", "type": "say", "config": {"text": "Back with the bot."}, "next": "wait"},
]}
SEED_CONCURRENCY = 16
WEBHOOK = "/handover/genesysCloudOM"


def write_config(workdir: Path, store: str, emulator_url: str) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "flow.json").write_text(json.dumps(FLOW))
    path = workdir / "bench.toml"
    path.write_text(f"""
[server]
public_url = "http://127.0.0.1"
[store]
url = "{store}"
[connections.bench]
type = "genesysCloudOM"
host = "{emulator_url}"
deploymentName = "BotHandover"
queue = "Support"
webhookSecret = "{DEFAULT_WEBHOOK_SECRET}"
clientId = "{DEFAULT_CLIENT_ID}"
clientSecret = "{DEFAULT_CLIENT_SECRET}"
[[endpoints]]
urlToken = "{TOKEN}"
organisation = "bench"
flow = "flow.json"
handover = "bench"
# The benchmarks send far faster than a person types: they measure speed, not the send budgets.
[handover]
session_messages_per_minute = 10000
connection_messages_per_minute = 100000
# No wait estimates: the emulator computes each from a scan of its waiting queue, so at 10,000
# queued handovers asking every minute it, not the runtime, would be what the memory section measures.
wait_estimate_seconds = 0
""")
    return path


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Seeder:
    """Starts handovers the way users do: a greeting, then a request for an agent (docs/CONTRACT.md 6)."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.started = 0

    async def _start_all(self, numbers: range) -> None:
        sessions = self.app[keys.SESSIONS]
        endpoint = sessions.endpoint(TOKEN)
        assert endpoint is not None
        todo = iter(numbers)

        # A few workers rather than a task per handover: the measurement must not count the tasks.
        async def worker() -> None:
            for i in todo:
                user = f"user-{i}"
                await sessions.handle_input(endpoint, UserInput(user, "s", "hello"))
                await sessions.handle_input(endpoint, UserInput(user, "s", "I would like to talk to a person"))

        await asyncio.gather(*(worker() for _ in range(SEED_CONCURRENCY)))

    async def seed(self, count: int, pairs: bool) -> dict[str, Any]:
        sessions = self.app[keys.SESSIONS]
        first, self.started = self.started, self.started + count
        gc.collect()
        before = rss_bytes()
        started = time.perf_counter()
        await self._start_all(range(first, first + count))
        seconds = time.perf_counter() - started
        # Measured once the starts' own tasks are gone: only what the handovers keep remains.
        gc.collect()
        after = rss_bytes()
        users = [f"user-{i}" for i in range(first, first + count)]
        found: list[tuple[str, str]] = []
        missing: list[str] = []
        for user in users:
            key = SessionKey(TOKEN, user, "s").id
            doc = await sessions.store.get_session(key)
            state = HandoverState.from_doc(doc.get("handover") if doc else None)
            if state is not None:
                found.append((state.genesys_user_id, state.conversation_id))
            else:
                missing.append(key)
        if missing:
            events = await sessions.store.read_events(missing[0], 0)
            raise RuntimeError(f"only {len(found)} of {count} handovers started; the events of {missing[0]}: "
                               f"{json.dumps(events)[:2000]}")
        watcher = self.app[HANDOVER_RUNTIME].watcher
        return {"count": count, "rss_before": before, "rss_after": after, "seconds": seconds,
                "pairs": found if pairs else [], "watched": len(watcher.watching("bench")),
                "channels": len(watcher.connections["bench"].channels)}


def _no_receipts() -> None:
    """Measurement only: drop the `Delivered` receipt so its share of the webhook's cost shows."""
    from extension.providers.genesys_om.delivery import AgentDelivery

    def skip(self: AgentDelivery, *args: object) -> None:
        return None

    AgentDelivery._receipt = skip  # type: ignore[method-assign,assignment]


async def run_runtime(args: argparse.Namespace) -> None:
    os.environ.update(FEATURE_ENABLE_GENESYS_CLOUD_OM="true", FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST="*")
    if args.no_receipts:
        _no_receipts()
    manifest = load_manifest()
    config = load_config(write_config(Path(args.workdir), args.store, args.emulator), manifest)
    app = build_app(config, manifest)
    seeder = Seeder(app)

    async def ready(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def seed(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(await seeder.seed(int(body["count"]), bool(body.get("pairs"))))

    async def agent_texts(request: web.Request) -> web.Response:
        """The texts of the agent messages a user was given, in the order of the session's events."""
        body = await request.json()
        store, key = app[keys.SESSIONS].store, SessionKey(TOKEN, str(body["user"]), "s").id
        found: list[Any] = []
        after = int(body.get("after", 0))
        while page := await store.read_events(key, after):
            found += [e.get("text") for e in page if e.get("type") == "output" and e.get("source") == "agent"]
            after = int(page[-1]["seq"])
        return web.json_response({"texts": found, "after": after})

    app.router.add_get("/benchctl/ready", ready)
    app.router.add_post("/benchctl/seed", seed)
    app.router.add_post("/benchctl/agent-texts", agent_texts)
    await serve(app, args.port)


async def run_bare(args: argparse.Namespace) -> None:
    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"status": "ok"})

    await serve(_small_app(handler), args.port)


async def run_verify(args: argparse.Namespace) -> None:
    """The bare handler plus what every webhook needs first: the HMAC check and parsing the message."""
    async def handler(request: web.Request) -> web.Response:
        raw = await request.read()
        if not verify(DEFAULT_WEBHOOK_SECRET, raw, request.headers.get(HEADER)):
            return web.json_response({"error": "invalid signature"}, status=401)
        parse_outbound(json.loads(raw))
        return web.json_response({"status": "ok"})

    await serve(_small_app(handler), args.port)


async def run_limit(args: argparse.Namespace) -> None:
    """The least work a webhook needs: HMAC, parse, one durable SQLite row, the `Delivered` receipt.

    The row is committed before the answer with the durability of the runtime's SQLite store (WAL,
    synchronous=NORMAL, one transaction per message); its primary key is the webhook id, so a
    redelivery is a duplicate. The receipt is posted after the answer, as the runtime does.
    """
    db = sqlite3.connect(Path(args.workdir) / "limit.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, user TEXT NOT NULL, text TEXT)")
    receipt_url = f"{args.emulator}/api/v2/conversations/messages/{DEFAULT_INTEGRATION_ID}/inbound/open/receipt"
    posting: set[asyncio.Task[None]] = set()
    http = aiohttp.ClientSession()
    async with http.post(f"{args.emulator}/oauth/token", data="grant_type=client_credentials",
                         auth=aiohttp.BasicAuth(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
                         headers={"Content-Type": "application/x-www-form-urlencoded"}) as resp:
        token = (await resp.json())["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def receipt(body: bytes) -> None:
        async with http.post(receipt_url, data=body, headers=headers) as resp:
            await resp.read()

    async def handler(request: web.Request) -> web.Response:
        raw = await request.read()
        if not verify(DEFAULT_WEBHOOK_SECRET, raw, request.headers.get(HEADER)):
            return web.json_response({"error": "invalid signature"}, status=401)
        msg = parse_outbound(json.loads(raw))
        stored = db.execute("INSERT OR IGNORE INTO messages (id, user, text) VALUES (?, ?, ?)",
                            (msg.id, msg.to_id or "", msg.text)).rowcount
        if not stored:
            return web.json_response({"status": "duplicate"})
        task = asyncio.create_task(receipt(json.dumps(delivery_receipt(msg.id, msg.to_id or "", "Delivered")).encode()))
        posting.add(task)
        task.add_done_callback(posting.discard)
        return web.json_response({"status": "delivered"})

    try:
        await serve(_small_app(handler), args.port)
    finally:
        await http.close()
        db.close()


def _small_app(handler: Any) -> web.Application:
    async def ready(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post(WEBHOOK, handler)
    app.router.add_get("/ready", ready)
    return app


async def serve(app: web.Application, port: int) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    rt = sub.add_parser("runtime")
    rt.add_argument("--port", type=int, required=True)
    rt.add_argument("--store", required=True)
    rt.add_argument("--emulator", required=True)
    rt.add_argument("--workdir", required=True)
    rt.add_argument("--no-receipts", action="store_true")
    for name in ("bare", "verify"):
        sub.add_parser(name).add_argument("--port", type=int, required=True)
    limit = sub.add_parser("limit")
    limit.add_argument("--port", type=int, required=True)
    limit.add_argument("--emulator", required=True)
    limit.add_argument("--workdir", required=True)
    args = parser.parse_args()
    runner = {"runtime": run_runtime, "bare": run_bare, "verify": run_verify, "limit": run_limit}[args.what]
    try:
        asyncio.run(runner(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
