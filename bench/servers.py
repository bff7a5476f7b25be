"""Process entry points: the runtime with seeded handovers, and a bare aiohttp handler."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from aiohttp import web

from extension import keys
from extension.app import build_app
from extension.config import load_config
from extension.flows.events import handover_event, output_event
from extension.flows.session import Session, SessionKey
from extension.handover.state import BY_CONVERSATION, BY_USER, HandoverState
from extension.manifest import load_manifest
from extension.store import Store
from extension.testing.emulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_INTEGRATION_ID,
    DEFAULT_QUEUE_ID,
    DEFAULT_WEBHOOK_SECRET,
)

TOKEN = "bench"
FLOW = {"name": "bench", "nodes": [
    {"id": "hello", "type": "say", "config": {"text": "Hello from the bench bot."}},
    {"id": "wait", "type": "waitForInput"},
    {"id": "handover", "type": "handoverToAgent", "config": {"sendTranscript": True}},
    {"id": "back", "type": "say", "config": {"text": "Back with the bot."}, "next": "wait"},
]}


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
""")
    return path


async def seed_handovers(store: Store, count: int) -> None:
    """`count` sessions in an active handover, as a real start leaves them (state, index, events)."""
    for i in range(count):
        key = SessionKey(TOKEN, f"user-{i}", "s")
        session = Session(key)
        session.record("bot", "Hello from the bench bot.")
        session.record("user", "I would like to talk to a person please")
        session.record("bot", "You are being connected to an agent.")
        state = HandoverState(connection="bench", genesys_user_id=f"h-{i}", conversation_id=f"c-{i}",
                              integration_id=DEFAULT_INTEGRATION_ID, queue_id=DEFAULT_QUEUE_ID,
                              queue_name="Support", status="active", next_message_no=2)
        session.handover = state.to_doc()
        events = [output_event("Hello from the bench bot."), output_event("You are being connected to an agent."),
                  handover_event("queue"), handover_event("active")]
        await store.commit(key.id, session.to_doc(), events)
        await store.index_set(BY_USER, state.genesys_user_id, key.id)
        await store.index_set(BY_CONVERSATION, state.conversation_id, key.id)


async def run_runtime(args: argparse.Namespace) -> None:
    import os

    os.environ.update(FEATURE_ENABLE_GENESYS_CLOUD_OM="true", FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST="*")
    manifest = load_manifest()
    config = load_config(write_config(Path(args.workdir), args.store, args.emulator), manifest)
    app = build_app(config, manifest)
    seeded = asyncio.Event()

    async def ready(request: web.Request) -> web.Response:
        return web.json_response({"seeded": True}) if seeded.is_set() else web.json_response({}, status=503)

    app.router.add_get("/readyz-seeded", ready)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    await seed_handovers(app[keys.STORE], args.handovers)
    seeded.set()
    await asyncio.Event().wait()


async def run_bare(args: argparse.Namespace) -> None:
    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"status": "ok"})

    async def ready(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/handover/genesysCloudOM", handler)
    app.router.add_get("/ready", ready)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    await asyncio.Event().wait()


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096


async def run_memory(args: argparse.Namespace) -> None:
    """RSS growth of a process holding `sessions` idle active handovers in the given store."""
    import gc

    from extension.store import store_from_url

    store = store_from_url(args.store, Path(args.workdir))
    await store.open()
    await seed_handovers(store, 10)  # warm up code paths and caches before measuring
    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    await seed_handovers(store, args.sessions)
    gc.collect()
    after = rss_bytes()
    print(json.dumps({"before": before, "after": after, "seconds": time.perf_counter() - started}))
    await store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    rt = sub.add_parser("runtime")
    rt.add_argument("--port", type=int, required=True)
    rt.add_argument("--store", required=True)
    rt.add_argument("--emulator", required=True)
    rt.add_argument("--handovers", type=int, default=0)
    rt.add_argument("--workdir", required=True)
    bare = sub.add_parser("bare")
    bare.add_argument("--port", type=int, required=True)
    mem = sub.add_parser("memory")
    mem.add_argument("--store", required=True)
    mem.add_argument("--sessions", type=int, required=True)
    mem.add_argument("--workdir", required=True)
    args = parser.parse_args()
    runner = {"runtime": run_runtime, "bare": run_bare, "memory": run_memory}[args.what]
    try:
        asyncio.run(runner(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
