"""Which connections a webhook comes from: the secret that signs it, then the integration it names."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from ...clock import SYSTEM_CLOCK, Clock
from ...genesys import GenesysError
from ...genesys.signature import verify
from ...tasks import BackgroundTasks
from .connection import GenesysConnection

log = logging.getLogger("extension.handover")
# An integration id no connection has resolved is looked up again at most this often.
RESOLVE_RETRY_SECONDS = 30.0


class WebhookSigners:
    """The configured connections as webhook senders; resolves their integration ids in the background."""

    def __init__(self, connections: Mapping[str, GenesysConnection], background: BackgroundTasks, *,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.connections = connections
        self.background = background
        self.clock = clock
        self._resolved_at: dict[str, float] = {}
        self._resolving: dict[str, asyncio.Task[None]] = {}

    def start(self) -> None:
        """Look up every connection's integration id (a webhook names its integration by id)."""
        for conn in self.connections.values():
            self._resolving[conn.name] = self.background.spawn(self._resolve(conn), name=f"resolve-{conn.name}")

    def stop(self) -> None:
        for task in self._resolving.values():
            task.cancel()

    async def _resolve(self, conn: GenesysConnection) -> None:
        self._resolved_at[conn.name] = self.clock.monotonic()
        try:
            await conn.integration()
        except GenesysError as exc:
            log.warning("connection %s: integration %r not resolved yet: %s", conn.name, conn.deployment_name, exc)

    def signed_by(self, raw: bytes, signature: str | None) -> list[GenesysConnection]:
        """The connections whose webhook secret signs these raw bytes (nothing is parsed first).

        Each distinct secret is tried once: connections sharing an integration share its secret.
        """
        if not signature:
            return []
        verdicts: dict[str, bool] = {}
        signed = []
        for conn in self.connections.values():
            secret = conn.webhook_secret.reveal()
            if secret not in verdicts:
                verdicts[secret] = verify(secret, raw, signature)
            if verdicts[secret]:
                signed.append(conn)
        return signed

    def candidates(self, signed: list[GenesysConnection], integration_id: str | None) -> list[GenesysConnection]:
        """The signed connections a webhook of `integration_id` may belong to; never waits on Genesys.

        Several connections may share one integration (each routing to its own queue): all of them
        are candidates, and the delivery picks the one that owns the recipient's handover. When no
        signed connection has resolved that integration id yet, the unresolved ones are candidates
        (the HMAC itself authenticates the sender) while their lookup runs in the background.
        """
        if not integration_id:
            return []
        named = [conn for conn in signed if conn.integration_id == integration_id]
        if named:
            return named
        for conn in self.connections.values():
            if conn.integration_id is None:
                self._resolve_later(conn)
        return [conn for conn in signed if conn.integration_id is None]

    def _resolve_later(self, conn: GenesysConnection) -> None:
        task = self._resolving.get(conn.name)
        if task is not None and not task.done():
            return
        # Unknown ids must not make every request a Genesys lookup: one try per interval.
        if self.clock.monotonic() - self._resolved_at.get(conn.name, -1e9) < RESOLVE_RETRY_SECONDS:
            return
        self._resolving[conn.name] = self.background.spawn(self._resolve(conn), name=f"resolve-{conn.name}")

    def for_end_key(self, key: str) -> GenesysConnection | None:
        """The connection whose endHandoverApiKey this is (HTTP end events)."""
        matches = [conn for conn in self.connections.values() if conn.accepts_end_key(key)]
        return matches[0] if matches else None
