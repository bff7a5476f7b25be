"""Redis and network failures surfaced as StoreError, for the Redis store and its coordination."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from redis.exceptions import RedisError

from .base import StoreError

P = ParamSpec("P")
T = TypeVar("T")


def translated(method: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Redis and network failures surface as StoreError, like every backend's."""

    @functools.wraps(method)
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except (RedisError, OSError) as exc:
            raise StoreError(f"Redis failed: {exc.__class__.__name__}: {exc}") from exc

    return call
