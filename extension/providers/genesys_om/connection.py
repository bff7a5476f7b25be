"""One configured Genesys Cloud connection at run time: its client, secrets and resolved ids."""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp

from ...clock import SYSTEM_CLOCK, Clock
from ...config import ConnectionConfig
from ...genesys import GenesysClient, Integration, Queue, RetryPolicy, resolve_region
from ...genesys.transport import ResponseHook
from ...secrets import Secret, same_secret
from .settings import HandoverSettings


@dataclass
class GenesysConnection:
    """A named connection: the client for its organisation and what the webhook needs."""

    name: str
    deployment_name: str
    queue_name: str
    webhook_secret: Secret
    end_key: Secret | None
    send_profile: bool
    client: GenesysClient
    integration_id: str | None = field(default=None)

    @classmethod
    def build(cls, config: ConnectionConfig, session: aiohttp.ClientSession, settings: HandoverSettings,
              on_response: ResponseHook | None = None, *, clock: Clock = SYSTEM_CLOCK) -> GenesysConnection:
        retry = RetryPolicy(max_attempts=settings.retry_attempts, max_total_seconds=settings.retry_total_seconds,
                            sleep=clock.sleep, clock=clock.monotonic)
        client = GenesysClient(
            session, resolve_region(config["host"]), config["clientId"], config["clientSecret"].reveal(),
            retry=retry, request_timeout=settings.request_timeout_seconds, on_response=on_response,
        )
        return cls(
            name=config.name, deployment_name=config["deploymentName"], queue_name=config["queue"],
            webhook_secret=config["webhookSecret"], end_key=config.get("endHandoverApiKey"),
            send_profile=bool(config.get("sendProfile", False)), client=client,
        )

    def __repr__(self) -> str:
        return f"GenesysConnection({self.name!r}, integration={self.deployment_name!r})"

    async def integration(self) -> Integration:
        """The Open Messaging integration named by deploymentName (cached by the client)."""
        found = await self.client.find_integration(self.deployment_name)
        self.integration_id = found.id
        return found

    async def queue(self) -> Queue:
        return await self.client.find_queue(self.queue_name)

    def accepts_end_key(self, presented: str) -> bool:
        """Constant-time check of an `Authorization: Bearer` key for HTTP end events."""
        if self.end_key is None or not self.end_key or not presented:
            return False
        return same_secret(self.end_key.reveal(), presented)
