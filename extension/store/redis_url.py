"""`redis://HOST:PORT/DB?prefix=...&lock_seconds=...`: parsed and checked without importing redis."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_PREFIX = "genesys-om"
DEFAULT_LOCK_SECONDS = 5.0
OPTIONS = ("prefix", "lock_seconds")
_PREFIX = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@dataclass(frozen=True)
class RedisUrl:
    """Where the Redis store lives and how it names and locks things."""

    client_url: str  # what redis-py gets: our own options taken out
    display: str  # host:port/db, never the password
    prefix: str = DEFAULT_PREFIX
    lock_seconds: float = DEFAULT_LOCK_SECONDS


def parse_redis_url(url: str) -> RedisUrl:
    """Parse a redis:// or rediss:// URL; raises ValueError saying what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError("a Redis URL starts with redis:// or rediss://")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError("the Redis URL has a bad port") from None
    if not host:
        raise ValueError("the Redis URL needs a host: redis://HOST:PORT/DB")
    db = parts.path.lstrip("/")
    if db and not db.isdigit():
        raise ValueError(f"the Redis database must be a number, not {db!r}")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown Redis store option(s) {', '.join(unknown)} (known: {', '.join(OPTIONS)})")
    prefix = options.get("prefix", DEFAULT_PREFIX)
    if not _PREFIX.match(prefix):
        raise ValueError("prefix: use 1 to 64 letters, digits, '_', '.', ':' or '-'")
    try:
        lock_seconds = float(options.get("lock_seconds", DEFAULT_LOCK_SECONDS))
    except ValueError:
        raise ValueError("lock_seconds must be a number of seconds") from None
    if not 0.1 <= lock_seconds <= 3600:
        raise ValueError("lock_seconds must be between 0.1 and 3600")
    client_url = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode({}), ""))
    return RedisUrl(client_url, f"{host}:{port or 6379}/{db or 0}", prefix, lock_seconds)


def redis_problem(url: str) -> str | None:
    """None when the URL is usable, else what is wrong (a bad URL, or no redis package)."""
    try:
        parse_redis_url(url)
    except ValueError as exc:
        return str(exc)
    if importlib.util.find_spec("redis") is None:
        return "the Redis store needs the redis package: pip install 'redis>=5'"
    return None
