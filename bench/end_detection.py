"""End detection at scale: N open handovers on one connection, agents end some, how soon the runtime sees it.

`python -m bench.end_detection [--smoke] [--handovers N] [--ends M] [--rate R]`

The emulator and the runtime run in this process (one event loop, one core): the emulator's
conversations are made by calling it directly, and the runtime's notifications channel is a real
WebSocket on loopback. Seeding (the fastest honest way, not the start path, which would take an hour
for 100,000): one handover is started through the runtime's real start path; its stored session is
copied for each of the N conversations (their ids put in), with the conversation index entries a
start writes, and the notifications duty re-syncs from the index as after a restart. The emulator's
conversations are created and answered by an agent before the runtime owns them. Then M of them are
ended by their agent, R per second, each timed from just before the agent's end until the runtime has
finished that handover (the followers' `ended` callback: the handover is over, its flow resumed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from extension import keys
from extension.app import build_app
from extension.config import load_config
from extension.flows.session import SessionKey
from extension.manifest import load_manifest
from extension.providers.genesys_om.runtime import HANDOVER_RUNTIME, HandoverRuntime
from extension.providers.genesys_om.state import BY_CONVERSATION, BY_USER, HandoverState
from extension.testing.emulator import Emulator, EmulatorConfig
from extension.testing.emulator.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_WEBHOOK_SECRET

from .load import percentile

TOKEN = "ends"
CONNECTION = "ends"
FLOW = {"name": "ends", "nodes": [
    {"id": "hello", "type": "say", "config": {"text": "Hello."}},
    {"id": "wait", "type": "waitForInput"},
    {"id": "handover", "type": "handoverToAgent", "config": {"sendTranscript": False}},
    {"id": "back", "type": "say", "config": {"text": "Back with the bot."}, "next": "wait"},
]}
FULL = {"handovers": 100_000, "ends": 6_000, "rate": 200.0}
SMOKE = {"handovers": 300, "ends": 100, "rate": 200.0}
GIVE_UP_SECONDS = 60.0


def _progress(what: str) -> None:
    print(f"end detection bench: {what}", file=sys.stderr, flush=True)


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _config(workdir: Path, emulator_url: str) -> Path:
    (workdir / "flow.json").write_text(json.dumps(FLOW))
    path = workdir / "ends.toml"
    path.write_text(f"""
[server]
public_url = "http://127.0.0.1"
[store]
url = "memory://"
[connections.{CONNECTION}]
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
handover = "{CONNECTION}"
sessionAccess = "open"
[handover]
end_topics = "queue"
session_messages_per_minute = 10000
connection_messages_per_minute = 100000
""")
    return path


async def _say(http: aiohttp.ClientSession, base: str, user: str, text: str) -> None:
    async with http.post(f"{base}/{TOKEN}", json={"userId": user, "sessionId": "s1", "text": text}) as resp:
        if resp.status != 200:
            raise RuntimeError(f"the runtime answered {resp.status}: {await resp.text()}")


async def _until(condition: Any, what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not reached within {seconds:g} s: {what}")
        await asyncio.sleep(0.01)


def _renamed(doc: Any, old: str, new: str) -> Any:
    """The template's stored session with one user's ids replaced by another's."""
    return json.loads(json.dumps(doc).replace(old, new))


async def measure(handovers: int, ends: int, rate: float) -> dict[str, Any]:
    os.environ.update(FEATURE_ENABLE_GENESYS_CLOUD_OM="true", FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST="*")
    emulator = Emulator(EmulatorConfig(heartbeat_interval=30.0))
    emulator_url = await emulator.start()
    with tempfile.TemporaryDirectory() as tmp:
        manifest = load_manifest()
        app = build_app(load_config(_config(Path(tmp), emulator_url), manifest), manifest)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            async with aiohttp.ClientSession() as http:
                return await _run(app, emulator, http, f"http://127.0.0.1:{port}", handovers, ends, rate)
        finally:
            await runner.cleanup()
            await emulator.stop()


async def _run(app: web.Application, emulator: Emulator, http: aiohttp.ClientSession, base: str,
               handovers: int, ends: int, rate: float) -> dict[str, Any]:
    runtime: HandoverRuntime = app[HANDOVER_RUNTIME]
    store = app[keys.STORE]
    emulator.update_integration(emulator.integration.id, webhook_url=f"{base}/handover/genesysCloudOM")
    # The template: one handover through the real start path (its channel and queue topic come with it).
    await _say(http, base, "template", "hello")
    await _say(http, base, "template", "an agent please")
    await _until(lambda: runtime.watcher.watching(CONNECTION), "the template handover watched")
    [(template_cid, template_key)] = (await store.index_items(BY_CONVERSATION)).items()
    template = await store.get_session(template_key)
    state = HandoverState.from_doc(template["handover"] if template else None)
    assert template is not None and state is not None
    await _until(lambda: any(c.topics for c in emulator.notifications.channels.values()), "the queue topic")

    # The emulator's side: N conversations of the queue, each answered by an agent.
    _progress(f"the emulator's {handovers} conversations")
    integration = emulator.integration
    cids: list[str] = []
    for n in range(handovers):
        conversation, _ = emulator.router.receive_message(integration, {
            "channel": {"from": {"id": f"b-{n}", "idType": "Opaque", "nickname": f"user {n}"}}, "text": "hi"})
        await emulator.agent.accept(conversation.id)
        cids.append(conversation.id)
    await asyncio.sleep(0.5)  # the runtime reads (and ignores) those events: none is a handover yet
    gc.collect()
    rss_before = rss_bytes()

    # The runtime's side: each conversation's stored handover, as a start leaves it.
    _progress(f"the runtime's {handovers} handovers")
    seeding = time.perf_counter()
    for n, cid in enumerate(cids):
        user = f"b{n}"
        key = SessionKey(TOKEN, user, "s1").id
        doc = _renamed(template, template_cid, cid)
        doc = _renamed(doc, state.genesys_user_id, f"b-{n}")
        doc = _renamed(doc, '"template"', f'"{user}"')
        await store.commit(key, doc, [])
        await store.index_set(BY_CONVERSATION, cid, key)
        await store.index_set(BY_USER, f"b-{n}", key)
    await runtime.cluster.resync(CONNECTION)  # coalesced with the duty's own pass when one runs
    await _until(lambda: len(runtime.watcher.watching(CONNECTION)) == handovers + 1, "every handover owned",
                 seconds=600)
    seeded_in = time.perf_counter() - seeding
    watched = len(runtime.watcher.watching(CONNECTION))
    gc.collect()
    rss_after = rss_bytes()
    topics = sorted(t for c in emulator.notifications.channels.values() for t in c.topics)
    # What the holder's once-a-second re-sync of the index costs at this size (it runs on the loop).
    resync_started = time.perf_counter()
    await runtime.cluster._resync_once(CONNECTION)
    resync_seconds = time.perf_counter() - resync_started

    # The agents end M of them, R per second; each end timed until the runtime finished its handover.
    _progress(f"{ends} ends at {rate:g}/s")
    loop = asyncio.get_running_loop()
    ended_at: dict[str, float] = {}
    started_at: dict[str, float] = {}
    chosen = random.Random(7).sample(cids, min(ends, len(cids)))
    all_seen = asyncio.Event()

    async def finished(done: HandoverState) -> None:
        ended_at.setdefault(done.conversation_id, loop.time())
        if len(ended_at) >= len(chosen):
            all_seen.set()

    runtime.handover.followers.follow(ended=finished)
    pauses = _Pauses()
    gc.callbacks.append(pauses.gc)
    ticker = asyncio.create_task(pauses.tick())
    cpu_before = time.process_time()
    wall = loop.time()
    for i, cid in enumerate(chosen):
        due = wall + i / rate
        if (pause := due - loop.time()) > 0:
            await asyncio.sleep(pause)
        started_at[cid] = loop.time()
        await emulator.agent.end(cid)
    sent_in = loop.time() - wall
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_seen.wait(), GIVE_UP_SECONDS)
    cpu = time.process_time() - cpu_before
    ticker.cancel()
    gc.callbacks.remove(pauses.gc)
    delays = [ended_at[c] - started_at[c] for c in chosen if c in ended_at]
    return {
        "handovers": handovers, "ends": len(chosen), "seen": len(delays), "rate": len(chosen) / max(sent_in, 1e-9),
        "p50": percentile(delays, 50), "p99": percentile(delays, 99), "max": max(delays, default=float("nan")),
        "rss_per_handover": (rss_after - rss_before) / handovers, "watched": watched, "topics": len(topics),
        "channels": len(emulator.notifications.channels), "seed_seconds": seeded_in,
        "cpu_per_end_ms": cpu / max(len(chosen), 1) * 1000.0,
        "acw_timeout": runtime.handover.settings.acw_timeout_seconds,
        "resync_seconds": resync_seconds, "gc_max": pauses.gc_max, "gc_full": pauses.gc_full,
        "lag_max": pauses.lag_max,
    }


class _Pauses:
    """The longest stalls of the event loop while the ends run, and the full garbage collections."""

    def __init__(self) -> None:
        self.gc_max = 0.0
        self.gc_full = 0
        self.lag_max = 0.0
        self._gc_started = 0.0

    def gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        self.gc_max = max(self.gc_max, time.perf_counter() - self._gc_started)
        self.gc_full += info.get("generation") == 2

    async def tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            self.lag_max = max(self.lag_max, loop.time() - before - 0.01)


def table(r: dict[str, Any]) -> list[str]:
    return [
        "| handovers open | ends | seen | end rate /s | p50 s | p99 s | max s | runtime RSS per handover "
        "| topics | channels |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {r['handovers']} | {r['ends']} | {r['seen']} | {r['rate']:.0f} | {r['p50']:.3f} | {r['p99']:.3f} | "
        f"{r['max']:.3f} | {r['rss_per_handover'] / 1024:.2f} KB | {r['topics']} | {r['channels']} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the benchmark still runs")
    parser.add_argument("--handovers", type=int)
    parser.add_argument("--ends", type=int)
    parser.add_argument("--rate", type=float)
    args = parser.parse_args()
    sizes = dict(SMOKE if args.smoke else FULL)
    for name in ("handovers", "ends", "rate"):
        if getattr(args, name) is not None:
            sizes[name] = getattr(args, name)
    result = asyncio.run(measure(int(sizes["handovers"]), int(sizes["ends"]), float(sizes["rate"])))
    print("\n".join(table(result)))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
