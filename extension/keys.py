"""Typed keys for everything the aiohttp application holds."""

from __future__ import annotations

from aiohttp import web

from .clock import Clock
from .config import Config
from .conversations import Conversations
from .manifest import Manifest
from .metrics import Metrics
from .store import Store

CONFIG = web.AppKey("config", Config)
MANIFEST = web.AppKey("manifest", Manifest)
STORE = web.AppKey("store", Store)
CONVERSATIONS = web.AppKey("conversations", Conversations)
METRICS = web.AppKey("metrics", Metrics)
# The clock of every timer the runtime arms (extension.clock); tests give a manual one.
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
