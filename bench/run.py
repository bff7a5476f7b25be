"""Run every benchmark in one go and write bench/RESULTS.md (`python -m bench.run [--smoke]`)."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import end_detection, procs
from .hot import HotSizes, bench_hot
from .ingest import HALF_RATE_SECONDS, IngestSizes, bench_ingest
from .memory import bench_memory
from .report import Results, render
from .roundtrip import bench_roundtrip
from .sdk_compare import inbound_ours, inbound_sdk, token_economy
from .stores import REDIS_URL, redis_available


@dataclass(frozen=True)
class Sizes:
    handovers: int = 1000
    webhooks: int = 6000
    concurrency: int = 32
    serial: int = 300
    # Before each measured ingest run, and how long the half-peak-rate run lasts.
    ingest_warmup: int = 300
    ingest_half_rate_seconds: float = HALF_RATE_SECONDS
    sessions: int = 100
    per_session: int = 20
    token_messages: int = 10000
    roundtrips: int = 200
    # 10,000 handovers per store (issue: memory for 10,000 sessions); they cross the notifications
    # limit of one OAuth client (docs/GENESYS_NOTES.md section 7).
    memory_sessions: tuple[tuple[str, int], ...] = (("memory", 10000), ("sqlite", 10000), ("redis", 10000))
    cross_replica_samples: int = 1000
    hot_webhooks: int = 3000
    # End detection: this many open handovers on one connection, this many ended by their agent, per second.
    end_handovers: int = 100_000
    end_ends: int = 6_000
    end_rate: float = 200.0


SMOKE = Sizes(handovers=20, webhooks=200, concurrency=8, serial=30, ingest_warmup=40, ingest_half_rate_seconds=0.5,
              sessions=5, per_session=3, token_messages=60,
              roundtrips=5, memory_sessions=(("memory", 200), ("sqlite", 200), ("redis", 200)),
              cross_replica_samples=30, hot_webhooks=100, end_handovers=300, end_ends=100)


async def cross_replica(samples: int) -> dict[str, float] | str:
    """The cross-replica wake-up through Redis, or why it was not measured."""
    if importlib.util.find_spec("bench.cross_replica") is None:
        return "bench/cross_replica.py is missing"
    if not redis_available():
        return "no Redis server answered on 127.0.0.1:6379"
    from .cross_replica import measure

    return await measure(REDIS_URL, samples)


async def main_async(smoke: bool) -> str:
    sizes = SMOKE if smoke else Sizes()
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    notes: list[str] = []
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(section: str) -> None:
        nonlocal clock
        timings[section], clock = time.perf_counter() - clock, time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        ingest = await bench_ingest(IngestSizes(sizes.handovers, sizes.webhooks, sizes.concurrency, sizes.serial,
                                                sizes.ingest_half_rate_seconds, sizes.ingest_warmup, together=smoke),
                              workdir)
        lap("ingest")
        hot = await bench_hot(HotSizes(sizes.hot_webhooks, sizes.concurrency, together=smoke), workdir)
        lap("hot conversation")
        with procs.emulator(latency=0.01, name="emulator-inbound") as emu:
            ours = await inbound_ours(emu.url, sizes.sessions, sizes.per_session)
            sdk = await asyncio.to_thread(inbound_sdk, emu.url, sizes.sessions, sizes.per_session)
        lap("inbound sends")
        with procs.emulator(name="emulator-tokens") as emu:
            tokens = await token_economy(emu.url, sizes.token_messages)
        lap("token economy")
        roundtrip = await bench_roundtrip(sizes.roundtrips, workdir)
        lap("round trip")
        memory = await bench_memory(dict(sizes.memory_sessions), workdir)
        lap("memory")
        xr = await cross_replica(sizes.cross_replica_samples)
        lap("cross-replica")
        ends = await end_detection.measure(sizes.end_handovers, sizes.end_ends, sizes.end_rate)
        lap("end detection")
    notes.append("Time per section: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()) + ".")
    notes.append(f"Load average of the machine (1 min) at the start {load_before:.1f}, at the end "
                 f"{os.getloadavg()[0]:.1f} (the benchmark's own processes count in the second): other work "
                 "sharing the cores makes every time longer and the ratios noisier.")
    return render(Results(sizes, ingest, {"ours": ours, "sdk": sdk}, roundtrip, memory, tokens, xr,
                          time.perf_counter() - started, smoke, notes, hot, end_detection=ends))


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
