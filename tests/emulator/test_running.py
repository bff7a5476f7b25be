"""Running the emulator: on a port, as a context manager, standalone, and as an echo agent."""

from __future__ import annotations

import asyncio
import sys

import aiohttp

from extension.testing.emulator import Emulator, EmulatorConfig
from extension.testing.emulator.__main__ import config_from, parse_args
from extension.testing.emulator.config import DEFAULT_CLIENT_ID

from .conftest import GUARD, Api, FakeMiddleware, basic, make_config


async def test_start_and_stop_on_a_free_port() -> None:
    emulator = Emulator()
    base_url = await emulator.start()
    try:
        assert base_url.startswith("http://127.0.0.1:") and not base_url.endswith(":0")
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base_url}/emulator") as response:
                assert response.status == 200
                assert response.headers["Genesys-Correlation-Id"]
    finally:
        await emulator.stop()


async def test_context_manager_and_defaults() -> None:
    async with Emulator() as emulator:
        assert emulator.base_url is not None
        assert len(emulator.config.integrations) == len(emulator.config.queues) == 1
        assert len(emulator.config.clients) == 1
        assert len(emulator.integration.webhook_secret) > 15
        async with aiohttp.ClientSession() as session:
            client_id, secret = next(iter(emulator.config.clients.items()))
            async with session.post(
                f"{emulator.base_url}/oauth/token",
                data={"grant_type": "client_credentials"},
                headers={"Authorization": basic(client_id, secret)},
            ) as response:
                assert response.status == 200


def test_command_line_config() -> None:
    args = parse_args(["--port", "9100", "--queue", "Support", "--queue", "Sales",
                       "--webhook-url", "http://h/x", "--auto-reply"])  # fmt: skip
    config = config_from(args)
    assert isinstance(config, EmulatorConfig)
    assert [q.name for q in config.queues] == ["Support", "Sales"]
    assert len({q.id for q in config.queues}) == 2
    assert config.integrations[0].webhook_url == "http://h/x" and config.auto_reply
    assert config.missing_permissions == {}
    lacking = config_from(parse_args(["--missing-permission", "analytics:conversationDetail:view"]))
    assert lacking.missing_permissions == {DEFAULT_CLIENT_ID: ["analytics:conversationDetail:view"]}


async def test_python_dash_m_prints_its_base_url() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "extension.testing.emulator", "--port", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), GUARD)).decode().strip()
        assert line.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{line}/emulator/conversations") as response:
                assert response.status == 200
    finally:
        process.terminate()
        await process.wait()


async def test_auto_reply_agent_echoes(aiohttp_client, middleware: FakeMiddleware) -> None:  # type: ignore[no-untyped-def]
    emulator = Emulator(make_config(middleware.url, auto_reply=True))
    api = Api(await aiohttp_client(emulator.app), emulator)
    cid = (await api.inbound("ping"))["conversationId"]
    first = await middleware.next()
    assert first.body["text"] == "Echo: ping" and first.body["conversationId"] == cid
    await api.inbound("again")
    assert (await middleware.next()).body["text"] == "Echo: again"
    assert [p.name for p in emulator.conversations.require(cid).participants
            if p.purpose == "agent"] == ["Echo"]  # fmt: skip
