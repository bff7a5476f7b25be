"""Cross-replica live delivery: an event committed on one Redis store instance -> a reader on another.

`python -m bench.cross_replica [--url redis://127.0.0.1:6379/14] [--samples 2000]` prints the
percentiles as JSON; `bench/run.py` calls `measure`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from extension.store import store_from_url
from extension.store.redis import RedisStore

from .load import percentile

WARM_UP = 50
SESSIONS = 8  # keys written in turn, as replicas serve several sessions at once
READER_SETTLE_SECONDS = 0.002


def _with_prefix(url: str, prefix: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["prefix"] = prefix
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _open_store(url: str) -> RedisStore:
    store = store_from_url(url)
    if not isinstance(store, RedisStore):
        raise ValueError("the cross-replica benchmark needs a redis:// URL")
    return store


async def measure(redis_url: str, samples: int) -> dict[str, float]:
    """p50/p99 ms from the commit on instance A to the woken reader on instance B holding the event.

    Two store instances (two connections, two pub/sub subscribers, as two replicas have) under a
    fresh key prefix, removed afterwards. The time runs from just before A's commit is sent until
    B's `read_events(wait=...)` returns the event, so it includes the commit's own round trip;
    `commit_p50_ms` is that round trip alone (A's commit until its reply).
    """
    if samples < 1:
        raise ValueError("samples must be at least 1")
    url = _with_prefix(redis_url, f"bench-xr-{secrets.token_hex(6)}")
    writer, reader = _open_store(url), _open_store(url)
    await writer.open()
    await reader.open()
    woken: list[float] = []
    commits: list[float] = []
    try:
        seqs = dict.fromkeys(range(SESSIONS), 0)
        for n in range(WARM_UP + samples):
            session = n % SESSIONS
            key = f"bench-session-{session}"
            waiting = asyncio.create_task(reader.read_events(key, seqs[session], wait=10.0))
            # Long enough for the reader's first (empty) read to return: it is then waiting.
            await asyncio.sleep(READER_SETTLE_SECONDS)
            started = time.perf_counter()
            await writer.commit(key, None, [{"type": "output", "text": f"sample {n}"}])
            committed = time.perf_counter()
            events = await waiting
            arrived = time.perf_counter()
            if not events:
                raise RuntimeError("the reader was not woken within 10 s")
            seqs[session] = events[-1]["seq"]
            if n >= WARM_UP:
                # The reader may run only once the commit's reply was handled (one event loop);
                # the wake itself never takes longer than that.
                woken.append(arrived - started)
                commits.append(committed - started)
    finally:
        prefix = writer.prefix
        keys = [k async for k in writer.redis.scan_iter(match=f"{prefix}:*", count=500)]
        if keys:
            await writer.redis.delete(*keys)
        await reader.close()
        await writer.close()
    ms = 1000.0
    return {"samples": float(samples), "p50_ms": percentile(woken, 50) * ms, "p99_ms": percentile(woken, 99) * ms,
            "commit_p50_ms": percentile(commits, 50) * ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/14", help="the Redis store URL (bench uses DB 14)")
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.url, args.samples))))


if __name__ == "__main__":
    main()
