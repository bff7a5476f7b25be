"""Memory per idle active handover: a runtime process, handovers started through its real start path."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from . import procs
from .stores import flush_redis, redis_used_memory, stores

WARM_UP = 20
# What the runtime logs when a handover cannot be subscribed (extension/providers/genesys_om/notifications.py).
CHANNELS_FULL = b"every notifications channel is full"


def _sqlite_bytes(path: Path) -> int:
    """The database file with its write-ahead log: what the sessions take on disk."""
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


async def _one_store(name: str, url: str, sessions: int, workdir: Path) -> dict[str, Any]:
    if name == "redis":
        flush_redis()
    db = Path(url.removeprefix("sqlite:///")) if name == "sqlite" else None
    log = f"runtime-memory-{name}"
    # Memory is not a timing: the stores are measured side by side to save time.
    with procs.emulator(name=f"emulator-memory-{name}") as emu, \
            procs.runtime(url, emu.url, workdir=workdir / f"memory-{name}", name=log) as rt:
        # Code paths, caches and the first notifications channel exist before the baseline.
        await asyncio.to_thread(procs.seed, rt, WARM_UP)
        server_before = redis_used_memory() if name == "redis" else 0
        disk_before = _sqlite_bytes(db) if db else 0
        seeded = await asyncio.to_thread(procs.seed, rt, sessions)
        growth = int(seeded["rss_after"]) - int(seeded["rss_before"])
        row: dict[str, Any] = {"store": name, "sessions": sessions, "per_session": growth / sessions,
                               "total_mb": growth / 2**20, "watched": seeded["watched"],
                               "channels": seeded["channels"]}
        if db is not None:
            row["disk_per_session"] = (_sqlite_bytes(db) - disk_before) / sessions
        if name == "redis":
            row["server_per_session"] = (redis_used_memory() - server_before) / sessions
    if name == "redis":
        flush_redis()
    row["full_logs"] = (procs.LOGS / f"{log}.log").read_bytes().count(CHANNELS_FULL)
    return row


async def bench_memory(sessions: dict[str, int], workdir: Path) -> list[dict[str, Any]]:
    """One row per store: `sessions[store]` handovers started in a fresh runtime process."""
    return list(await asyncio.gather(*(_one_store(name, url, sessions[name], workdir)
                                       for name, url in stores(workdir / "memory"))))
