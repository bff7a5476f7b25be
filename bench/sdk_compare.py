"""Inbound sends through our client and through the official Genesys Python SDK, same emulator."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import aiohttp

from extension.genesys import GenesysClient, resolve_region
from extension.genesys.messages import inbound_text
from extension.testing.emulator.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

from . import procs


def _body(session: int, n: int, prefix: str) -> dict[str, object]:
    return inbound_text(f"{prefix}-{session}-{n}", f"{prefix}-user-{session}", f"message {n} of session {session}")


async def inbound_ours(emu: str, sessions: int, per_session: int) -> float:
    """Messages per second: `sessions` customers at once, each sending in order (one in flight)."""
    async with aiohttp.ClientSession() as http:
        client = GenesysClient(http, resolve_region(emu), DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        integration = (await client.find_integration("BotHandover")).id

        async def customer(i: int) -> None:
            for n in range(per_session):
                await client.send_inbound_message(integration, _body(i, n, "ours"), prefetch_conversation_id=False)

        started = time.perf_counter()
        await asyncio.gather(*(customer(i) for i in range(sessions)))
        return sessions * per_session / (time.perf_counter() - started)


def inbound_sdk(emu: str, sessions: int, per_session: int) -> float:
    """The same load through purecloudplatformclientv2, a thread per customer (the SDK is blocking)."""
    import PureCloudPlatformClientV2 as sdk  # type: ignore[import-untyped]

    sdk.configuration.host = emu
    api_client = sdk.api_client.ApiClient().get_client_credentials_token(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    api = sdk.ConversationsApi(api_client)
    integration = api_client.call_api("/api/v2/conversations/messaging/integrations/open", "GET",
                                      auth_settings=["PureCloud OAuth"], response_type="object")
    integration_id = integration["entities"][0]["id"] if isinstance(integration, dict) else None
    if integration_id is None:
        integration_id = procs.emulator_json(emu, "/emulator/integrations")["integrations"][0]["id"]
    models = [[api_client._ApiClient__deserialize(_body(i, n, "sdk"), "OpenInboundNormalizedMessage")
               for n in range(per_session)] for i in range(sessions)]

    def customer(i: int) -> None:
        for model in models[i]:
            api.post_conversations_message_inbound_open_message(integration_id, model)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=sessions) as pool:
        list(pool.map(customer, range(sessions)))
    return sessions * per_session / (time.perf_counter() - started)


async def token_economy(emu: str, messages: int) -> dict[str, int]:
    """Token requests our client makes for `messages` sends on one connection."""
    async with aiohttp.ClientSession() as http:
        client = GenesysClient(http, resolve_region(emu), DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        integration = (await client.find_integration("BotHandover")).id
        semaphore = asyncio.Semaphore(64)

        async def send(i: int) -> None:
            async with semaphore:
                await client.send_inbound_message(integration, _body(i % 500, i, "tok"),
                                                  prefetch_conversation_id=False)

        await asyncio.gather(*(send(i) for i in range(messages)))
        return {"messages": messages, "token_requests": client.tokens.requests_made}
