"""The app key of the handover runtime."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .runtime import HandoverRuntime

HANDOVER_RUNTIME: web.AppKey[HandoverRuntime] = web.AppKey("handover_runtime")
