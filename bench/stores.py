"""The stores the benchmarks run against: memory and SQLite always, Redis (DB 15) when a server answers."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

# Not 14: earlier versions of this bench emptied DB 14 whole (FLUSHDB), which would remove the keys
# of a run beside them.
REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 15
# A key prefix of this run: benchmarks running at once on one Redis never touch each other's keys.
REDIS_PREFIX = f"bench-{os.getpid()}-{secrets.token_hex(3)}"
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}?prefix={REDIS_PREFIX}"


def redis_available() -> bool:
    try:
        from extension.store import check_store_url

        if check_store_url(REDIS_URL) is not None:
            return False
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except (ImportError, OSError):
        return False


def stores(workdir: Path) -> list[tuple[str, str]]:
    """(name, store URL) pairs; the SQLite file lives under `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    found = [("memory", "memory://"), ("sqlite", f"sqlite:///{workdir}/bench.db")]
    if redis_available():
        found.append(("redis", REDIS_URL))
    return found


def redis_used_memory() -> int:
    """What the Redis server itself holds (INFO memory `used_memory`), in bytes."""
    import redis

    with redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB) as client:
        return int(client.info("memory")["used_memory"])


def flush_redis() -> None:
    """Remove every key of this run (its prefix; the tests use DB 13), nothing else."""
    import redis

    with redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB) as client:
        keys = list(client.scan_iter(match=f"{REDIS_PREFIX}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start:start + 1000])
