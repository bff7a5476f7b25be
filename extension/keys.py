"""Typed keys for everything the runtime's aiohttp application holds (a provider keeps its own)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from .channels.access import SessionAccess
from .clock import Clock
from .config import Config
from .flows.engine import Endpoint
from .limits import BodyReading
from .links import FileSource, SignedLinks
from .manifest import Manifest
from .metrics import Metrics
from .repeating import StoreFailures
from .sessions import Sessions
from .store import Store

CONFIG = web.AppKey("config", Config)
MANIFEST = web.AppKey("manifest", Manifest)
STORE = web.AppKey("store", Store)
SESSIONS = web.AppKey("sessions", Sessions)
# The name this key had before the session manager was called Sessions; hosts may still use it.
CONVERSATIONS = SESSIONS
METRICS = web.AppKey("metrics", Metrics)
SESSION_ACCESS = web.AppKey("session_access", SessionAccess)
# How long a body may take to arrive and how many may be arriving (request_bodies.read_body).
BODY_READING = web.AppKey("body_reading", BodyReading)
STORE_FAILURES = web.AppKey("store_failures", StoreFailures)
OPEN_SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("open_sockets")
# `POST /{urlToken}` of an endpoint whose type is not webchat, by type (endpoint_types.py).
TYPE_INPUTS: web.AppKey[dict[str, Callable[[web.Request, Endpoint], Awaitable[web.StreamResponse]]]] = \
    web.AppKey("type_inputs")
# The clock of every timer the runtime arms (extension.clock); tests give a manual one.
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
# Signed file links (extension/links.py) and who serves the files that are not uploads, by source name.
LINKS = web.AppKey("links", SignedLinks)
FILE_SOURCES: web.AppKey[dict[str, FileSource]] = web.AppKey("file_sources")
