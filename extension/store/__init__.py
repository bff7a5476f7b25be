"""Stores behind one interface; `open_store` picks the backend from a URL."""

from __future__ import annotations

from pathlib import Path

from .base import Store, StoreError
from .memory import MemoryStore
from .sqlite import SqliteStore

__all__ = ["Store", "StoreError", "MemoryStore", "SqliteStore", "store_from_url", "check_store_url"]

SCHEMES = ("memory://", "sqlite:///")


def check_store_url(url: str) -> str | None:
    """None when the URL names a supported store, else what is wrong with it."""
    if url == "memory://":
        return None
    if url.startswith("sqlite:///"):
        return None if url[len("sqlite:///"):] else "sqlite:/// needs a file path"
    if url.startswith("redis://"):
        return "the Redis store is not available in this version (use memory:// or sqlite:///PATH)"
    return "unsupported store URL: use memory:// or sqlite:///PATH"


def store_from_url(url: str, base_dir: Path | None = None) -> Store:
    """Build (not open) the store a URL names; relative SQLite paths resolve against base_dir."""
    problem = check_store_url(url)
    if problem:
        raise StoreError(problem)
    if url == "memory://":
        return MemoryStore()
    path = Path(url[len("sqlite:///"):])
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    return SqliteStore(path)
