"""Stores behind one interface; `open_store` picks the backend from a URL."""

from __future__ import annotations

from pathlib import Path

from .base import Blob, Store, StoreError
from .coordination import Coordination, LocalCoordination
from .memory import MemoryStore
from .redis_url import parse_redis_url, redis_problem
from .sqlite import SqliteStore

__all__ = ["Blob", "Store", "StoreError", "MemoryStore", "SqliteStore", "Coordination", "LocalCoordination",
           "store_from_url", "check_store_url"]

SCHEMES = ("memory://", "sqlite:///", "redis://", "rediss://")
SUPPORTED = "use memory://, sqlite:///PATH or redis://HOST:PORT/DB"


def check_store_url(url: str) -> str | None:
    """None when the URL names a supported store, else what is wrong with it."""
    if url == "memory://":
        return None
    if url.startswith("sqlite:///"):
        return None if url[len("sqlite:///"):] else "sqlite:/// needs a file path"
    if url.startswith(("redis://", "rediss://")):
        return redis_problem(url)
    return f"unsupported store URL: {SUPPORTED}"


def store_from_url(url: str, base_dir: Path | None = None) -> Store:
    """Build (not open) the store a URL names; relative SQLite paths resolve against base_dir."""
    problem = check_store_url(url)
    if problem:
        raise StoreError(problem)
    if url == "memory://":
        return MemoryStore()
    if url.startswith(("redis://", "rediss://")):
        # Imported here so that memory and SQLite deployments never load the Redis client.
        from .redis import RedisStore

        return RedisStore(parse_redis_url(url))
    path = Path(url[len("sqlite:///"):])
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    return SqliteStore(path)
