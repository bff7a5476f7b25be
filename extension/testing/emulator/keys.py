"""The one typed place where the aiohttp app keeps the emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .app import Emulator

EMULATOR: web.AppKey[Emulator] = web.AppKey("genesys_emulator")
