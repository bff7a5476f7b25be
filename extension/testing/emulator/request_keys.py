"""The values the emulator keeps on an aiohttp request: its correlation id and its client."""

from __future__ import annotations

from typing import Any

from aiohttp import web


def _request_key(name: str) -> Any:
    # web.RequestKey exists from aiohttp 3.14 (plain strings warn there); older versions take str.
    factory = getattr(web, "RequestKey", None)
    return factory(name, str) if factory is not None else name


CORRELATION_ID = _request_key("genesys_correlation_id")
CLIENT_ID = _request_key("genesys_client_id")
