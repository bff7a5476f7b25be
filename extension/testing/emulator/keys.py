"""The one typed place where the aiohttp app keeps the emulator, and per-request values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .app import Emulator

EMULATOR: web.AppKey[Emulator] = web.AppKey("genesys_emulator")


def _request_key(name: str) -> Any:
    # web.RequestKey exists from aiohttp 3.14 (plain strings warn there); older versions take str.
    factory = getattr(web, "RequestKey", None)
    return factory(name, str) if factory is not None else name


CORRELATION_ID = _request_key("genesys_correlation_id")
CLIENT_ID = _request_key("genesys_client_id")
