"""Webhook ingest: signed agent messages against the runtime per store, and against bare handlers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from extension.genesys.signature import sign
from extension.testing.emulator.config import DEFAULT_INTEGRATION_ID, DEFAULT_WEBHOOK_SECRET

from . import procs
from .load import LoadResult, closed_loop, paced
from .stores import flush_redis, stores

WEBHOOK = "/handover/genesysCloudOM"
# The webhook's answers for a stored agent message: delivered in the answer's turn, or (behind a busy
# session, past webhook_wait_seconds) stored first and delivered after the answer; anything else
# counts as an error.
DELIVERED = "delivered"
ACCEPTED = "accepted"
# The least work the job needs in Python: what the runtime's CPU per webhook is compared with.
LIMIT = "limit: HMAC + parse + one durable SQLite row + Delivered receipt"
Bodies = list[tuple[bytes, dict[str, str]]]
# How long the half-peak-rate run lasts: its p99 comes from a few hundred to a few thousand samples.
HALF_RATE_SECONDS = 3.0


@dataclass(frozen=True)
class IngestSizes:
    handovers: int
    webhooks: int
    concurrency: int
    serial: int
    half_rate_seconds: float = HALF_RATE_SECONDS
    warmup: int = 300  # webhooks sent before each measured run (at least one per handover)
    # The smoke run measures the rows side by side (its numbers mean nothing, its time counts in
    # `make test`); a real run measures them one after the other, each with the machine to itself.
    together: bool = False


def agent_webhooks(count: int, pairs: Sequence[tuple[str, str]], prefix: str) -> Bodies:
    """Signed agent messages with unique ids, spread over the handovers (user id, conversation id)."""
    out = []
    for i in range(count):
        mid = f"{prefix}-{i}"
        user, conversation = pairs[i % len(pairs)]
        body = {"id": mid, "channel": {"id": DEFAULT_INTEGRATION_ID, "platform": "Open", "type": "Private",
                                       "messageId": mid, "to": {"id": user, "idType": "Opaque"},
                                       "from": {"nickname": "BotHandover", "id": DEFAULT_INTEGRATION_ID,
                                                "idType": "Opaque"},
                                       "time": "2026-01-15T10:01:05.427Z"},
                "type": "Text", "text": f"Agent message {i}", "originatingEntity": "Human",
                "direction": "Outbound", "conversationId": conversation}
        raw = json.dumps(body).encode()
        out.append((raw, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(DEFAULT_WEBHOOK_SECRET,
                                                                                             raw)}))
    return out


class Meter:
    """CPU used during a run by the server under test, this load generator, and the emulator."""

    def __init__(self, server: procs.Server, emulator: procs.Server | None) -> None:
        self.server, self.emulator = server, emulator

    def _now(self) -> tuple[float, float, float, float]:
        return (time.perf_counter(), self.server.cpu_seconds(), time.process_time(),
                self.emulator.cpu_seconds() if self.emulator else 0.0)

    def __enter__(self) -> Meter:
        self._start = self._now()
        return self

    def __exit__(self, *exc: object) -> None:
        wall, server, loadgen, emulator = (b - a for a, b in zip(self._start, self._now(), strict=True))
        self.wall, self.server_cpu, self.loadgen_cpu, self.emulator_cpu = wall, server, loadgen, emulator


def row(server: str, peak: LoadResult, meter: Meter, base: dict[str, Any] | None) -> dict[str, Any]:
    cpu = meter.server_cpu / peak.requests
    return {"server": server, "rate": peak.rate, "p50": peak.percentile(50), "p99": peak.percentile(99),
            "errors": peak.errors, "cpu": cpu, "server_busy": meter.server_cpu / meter.wall,
            "loadgen_busy": meter.loadgen_cpu / meter.wall, "emulator_busy": meter.emulator_cpu / meter.wall,
            "ratio": peak.rate / base["rate"] if base else 1.0,
            "cpu_ratio": base["cpu"] / cpu if base and cpu else 1.0}


async def _bare_row(kind: str, label: str, sizes: IngestSizes, base: dict[str, Any] | None) -> dict[str, Any]:
    fake = [(f"h-{i}", f"c-{i}") for i in range(sizes.handovers)]
    with procs.bare(kind) as server:
        await closed_loop(server.url + WEBHOOK, agent_webhooks(sizes.warmup, fake, "warm"), sizes.concurrency)
        bodies = agent_webhooks(sizes.webhooks, fake, kind)
        with Meter(server, None) as meter:
            peak = await closed_loop(server.url + WEBHOOK, bodies, sizes.concurrency, expect="ok")
    return row(label, peak, meter, base)


async def _limit_row(sizes: IngestSizes, workdir: Path, base: dict[str, Any]) -> dict[str, Any]:
    """The hand-written minimal pipeline (bench/servers.py `run_limit`), receipts to a real emulator."""
    fake = [(f"h-{i}", f"c-{i}") for i in range(sizes.handovers)]
    with procs.emulator(name="emulator-ingest-limit") as emu, procs.limit(emu.url, workdir / "limit") as server:
        await closed_loop(server.url + WEBHOOK, agent_webhooks(sizes.warmup, fake, "warm"), sizes.concurrency)
        with Meter(server, emu) as meter:
            peak = await closed_loop(server.url + WEBHOOK, agent_webhooks(sizes.webhooks, fake, "limit"),
                                     sizes.concurrency, expect=DELIVERED)
            await asyncio.sleep(0.5)  # receipts still in flight belong to this load
    return row(LIMIT, peak, meter, base)


async def accept_all(emulator: str, conversations: Sequence[str]) -> None:
    """An agent accepts each conversation in the emulator, so every handover is active."""
    semaphore = asyncio.Semaphore(16)
    async with aiohttp.ClientSession() as http:

        async def accept(cid: str) -> None:
            async with semaphore, http.post(f"{emulator}/emulator/conversations/{cid}/accept", json={}) as resp:
                if resp.status >= 300:
                    raise RuntimeError(f"accepting {cid} in the emulator: {resp.status} {await resp.text()}")

        await asyncio.gather(*(accept(c) for c in conversations))


async def _runtime_row(name: str, url: str, sizes: IngestSizes, workdir: Path, base: dict[str, Any], *,
                       receipts: bool = True) -> dict[str, Any]:
    label = f"runtime, {name} store" + ("" if receipts else ", Delivered receipt off")
    tag = f"{name}{'' if receipts else '-noreceipt'}"
    if name == "redis":
        flush_redis()
    # A fresh emulator each time: the notifications channels of earlier runs count against its limits.
    with procs.emulator(name=f"emulator-ingest-{tag}") as emu, \
            procs.runtime(url, emu.url, workdir=workdir / tag, name=f"runtime-ingest-{tag}",
                          no_receipts=not receipts) as rt:
        seeded = await asyncio.to_thread(procs.seed, rt, sizes.handovers, pairs=True)
        pairs = [(str(u), str(c)) for u, c in seeded["pairs"]]
        await accept_all(emu.url, [c for _, c in pairs])
        # One agent message per handover first: code paths, caches and connections are warm.
        await closed_loop(rt.url + WEBHOOK, agent_webhooks(max(sizes.warmup, len(pairs)), pairs, f"{tag}-warm"),
                          sizes.concurrency)
        with Meter(rt, emu) as meter:
            peak = await closed_loop(rt.url + WEBHOOK, agent_webhooks(sizes.webhooks, pairs, tag), sizes.concurrency,
                                     expect=(DELIVERED, ACCEPTED))
            await asyncio.sleep(0.5)  # receipts still in flight belong to this load
        result = row(label, peak, meter, base)
        if not receipts:
            return result
        rate = max(1.0, peak.rate / 2)
        count = max(50, int(rate * sizes.half_rate_seconds))
        half = await paced(rt.url + WEBHOOK, agent_webhooks(count, pairs, f"{tag}-half"), rate,
                           expect=(DELIVERED, ACCEPTED))
        # One at a time, as a quiet conversation sends them: the acknowledgement latency alone.
        serial = await closed_loop(rt.url + WEBHOOK, agent_webhooks(sizes.serial, pairs, f"{tag}-serial"), 1,
                                   expect=(DELIVERED, ACCEPTED))
    result.update(half_rate=peak.rate / 2, half_p50=half.percentile(50), half_p99=half.percentile(99),
                  half_errors=half.errors, serial_p50=serial.percentile(50), serial_p99=serial.percentile(99),
                  serial_count=serial.requests, serial_errors=serial.errors)
    return result


async def bench_ingest(sizes: IngestSizes, workdir: Path) -> list[dict[str, Any]]:
    base = await _bare_row("bare", "bare aiohttp handler", sizes, None)
    measures: list[Awaitable[dict[str, Any]]] = [
        _bare_row("verify", "bare handler + HMAC check + message parse", sizes, base), _limit_row(sizes, workdir, base)]
    for name, url in stores(workdir / "ingest"):
        measures.append(_runtime_row(name, url, sizes, workdir, base))
        if name == "memory":
            measures.append(_runtime_row(name, url, sizes, workdir, base, receipts=False))
    if sizes.together:
        return [base, *await asyncio.gather(*measures)]
    return [base, *[await measure for measure in measures]]
