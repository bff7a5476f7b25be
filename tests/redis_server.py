"""The Redis server the tests share: database 13 on 127.0.0.1:6379, one key prefix per test."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

HOST, PORT, DB = "127.0.0.1", 6379, 13


def redis_answers() -> bool:
    try:
        with socket.create_connection((HOST, PORT), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def in_ci() -> bool:
    """CI systems set CI (`true`, or `1` on some); `.ci/run` sets it when they do not."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_redis() -> None:
    """Skip (with the reason) when no Redis answers; in CI (CI=true) that is a failure instead."""
    if redis_answers():
        return
    reason = f"no Redis server answers on {HOST}:{PORT} (start one: redis-server --port {PORT} --save '')"
    if in_ci():
        pytest.fail(f"CI needs Redis: {reason}")
    pytest.skip(reason)


def new_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def redis_url(prefix: str, **options: object) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"prefix": prefix, **options}.items())
    return f"redis://{HOST}:{PORT}/{DB}?{query}"


async def delete_prefix(prefix: str) -> None:
    """Remove every key of one test (never anything else in the database)."""
    import redis.asyncio as aioredis

    client = aioredis.Redis(host=HOST, port=PORT, db=DB)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
