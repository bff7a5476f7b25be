"""A small load generator: closed-loop (fixed concurrency) or paced (a fixed rate), with latencies."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.latencies, p)


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


Expected = str | tuple[str, ...] | None


def failed(status: int, body: bytes, expect: Expected) -> bool:
    """Not a 200, or (with `expect`, one answer or several) an answer whose `status` is not expected."""
    if status != 200:
        return True
    if expect is None:
        return False
    allowed = (expect,) if isinstance(expect, str) else expect
    try:
        return json.loads(body).get("status") not in allowed
    except (ValueError, AttributeError):
        return True


async def closed_loop(url: str, bodies: Sequence[tuple[bytes, dict[str, str]]], concurrency: int,
                      expect: Expected = None) -> LoadResult:
    """Send every body with `concurrency` requests in flight; the peak rate the server sustains."""
    latencies: list[float] = []
    errors = 0
    cursor = iter(range(len(bodies)))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal errors
            for i in cursor:
                body, headers = bodies[i]
                t0 = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as resp:
                    answer = await resp.read()
                latencies.append(time.perf_counter() - t0)
                errors += failed(resp.status, answer, expect)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return LoadResult(len(bodies), seconds, latencies, errors)


async def paced(url: str, bodies: Sequence[tuple[bytes, dict[str, str]]], rate: float,
                expect: Expected = None) -> LoadResult:
    """Send at a steady `rate` per second (open loop); latency counts from the planned send time."""
    latencies: list[float] = []
    errors = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one(i: int, planned: float) -> None:
            nonlocal errors
            delay = planned - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            body, headers = bodies[i]
            async with session.post(url, data=body, headers=headers) as resp:
                answer = await resp.read()
            latencies.append(time.perf_counter() - planned)
            errors += failed(resp.status, answer, expect)

        started = time.perf_counter() + 0.05
        await asyncio.gather(*(one(i, started + i / rate) for i in range(len(bodies))))
        seconds = time.perf_counter() - started
    return LoadResult(len(bodies), seconds, latencies, errors)
