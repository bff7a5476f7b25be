"""One hot conversation: every webhook for one handover, many in flight, against the runtime per store.

The agent's messages all go to one active handover with `concurrency` requests in flight, as a
burst from Genesys does. Each is answered either `delivered` (taken inline, the session was free)
or `accepted` (stored first behind a busy session, delivered in order by the session's drainer);
both are a success. Afterwards the user's events are read back: every message once, none lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import procs
from .ingest import ACCEPTED, DELIVERED, WEBHOOK, Meter, accept_all, agent_webhooks
from .load import closed_loop
from .stores import stores

# How long the drainers may take to hand the stored backlog to the user after the last answer.
DRAIN_SECONDS = 30.0


@dataclass(frozen=True)
class HotSizes:
    webhooks: int
    concurrency: int
    together: bool = False  # the stores side by side (the smoke run only)


class Reader:
    """The user's client reading the session's events while the burst comes, as a live chat does
    (the event log keeps the newest 1,000 events: a reader that waited for the end would miss some)."""

    def __init__(self, url: str, user: str) -> None:
        self.url, self.user = url, user
        self.texts: list[str] = []
        self.after = 0

    async def read(self) -> None:
        answer = await asyncio.to_thread(procs.post_json, self.url, "/benchctl/agent-texts",
                                         {"user": self.user, "after": self.after})
        self.texts += answer["texts"]
        self.after = int(answer["after"])

    async def follow(self, wanted: int) -> None:
        """Read until `wanted` texts came (cancelled by the caller's deadline otherwise)."""
        while len(self.texts) < wanted:
            await self.read()
            await asyncio.sleep(0.05)


def inversions(sent: list[str], seen: list[str]) -> int:
    """Adjacent pairs the user got in another order than the load generator sent them."""
    rank = {text: i for i, text in enumerate(sent)}
    order = [rank[t] for t in seen if t in rank]
    return sum(1 for a, b in zip(order, order[1:], strict=False) if a > b)


async def _hot_row(name: str, url: str, sizes: HotSizes, workdir: Path) -> dict[str, Any]:
    tag = f"hot-{name}"
    with procs.emulator(name=f"emulator-{tag}") as emu, \
            procs.runtime(url, emu.url, workdir=workdir / tag, name=f"runtime-{tag}") as rt:
        seeded = await asyncio.to_thread(procs.seed, rt, 1, pairs=True)
        pair = (str(seeded["pairs"][0][0]), str(seeded["pairs"][0][1]))
        await accept_all(emu.url, [pair[1]])
        await closed_loop(rt.url + WEBHOOK, agent_webhooks(100, [pair], f"{tag}-warm"), 1, expect=DELIVERED)
        bodies = agent_webhooks(sizes.webhooks, [pair], tag)
        sent = [f"Agent message {i}" for i in range(sizes.webhooks)]
        # The user is `user-0` of the seeded handovers; the warm-up's texts are read before the burst.
        reader = Reader(rt.url, "user-0")
        await reader.read()
        warm = len(reader.texts)
        following = asyncio.create_task(reader.follow(warm + sizes.webhooks))
        with Meter(rt, emu) as meter:
            burst = await closed_loop(rt.url + WEBHOOK, bodies, sizes.concurrency, expect=(DELIVERED, ACCEPTED))
        with contextlib.suppress(TimeoutError):  # what has not come by then counts as lost
            await asyncio.wait_for(following, DRAIN_SECONDS)
        await reader.read()
        seen = reader.texts[warm:]
    return {"store": name, "requests": burst.requests, "concurrency": sizes.concurrency, "rate": burst.rate,
            "p50": burst.percentile(50), "p99": burst.percentile(99), "errors": burst.errors,
            "cpu": meter.server_cpu / burst.requests, "delivered": len(seen), "unique": len(set(seen)),
            "lost": len(set(sent) - set(seen)), "inversions": inversions(sent, seen)}


async def bench_hot(sizes: HotSizes, workdir: Path) -> list[dict[str, Any]]:
    """The memory and SQLite stores (one process: where the hot conversation's backlog lives)."""
    chosen = [(name, url) for name, url in stores(workdir / "hot") if name in ("memory", "sqlite")]
    if sizes.together:  # the smoke run: side by side (see IngestSizes.together)
        return list(await asyncio.gather(*(_hot_row(name, url, sizes, workdir) for name, url in chosen)))
    return [await _hot_row(name, url, sizes, workdir) for name, url in chosen]
