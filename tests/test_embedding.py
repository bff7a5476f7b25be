"""The package as a plugin of a host runtime (docs/EMBEDDING.md), without `genesys-om serve`.

The host loads the manifest, validates a connection and a node config against the declared
schemas, builds the runtime app for its config, runs a conversation into the handoverToAgent node,
and the agent's answers reach the session through the signed webhook, all on loopback against
the Genesys Cloud emulator.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from marshmallow import ValidationError

from extension import keys
from extension.app import build_app
from extension.config import parse_config
from extension.flows.session import SessionKey
from extension.genesys.signature import sign
from extension.manifest import load_manifest
from extension.secrets import Secret
from extension.sessions import UserInput
from extension.testing.emulator import Emulator, EmulatorConfig
from extension.testing.emulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_INTEGRATION_ID,
    DEFAULT_INTEGRATION_NAME,
    DEFAULT_QUEUE_NAME,
    DEFAULT_WEBHOOK_SECRET,
)

from support import eventually

FLAGS = {"FEATURE_ENABLE_GENESYS_CLOUD_OM": "true", "FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST": "*"}
NODE_CONFIG = {"handoverAcceptedMessage": "Connecting you.", "customAttributes": {"tier": "gold"}}
FLOW = {"name": "host", "nodes": [
    {"id": "ask", "type": "waitForInput"},
    {"id": "handover", "type": "handoverToAgent", "config": NODE_CONFIG},
    {"id": "back", "type": "say", "config": {"text": "Back with the bot: {{input.handover.status}}"}},
]}


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emu = Emulator(EmulatorConfig(webhook_retry_delay=0.05, heartbeat_interval=0.5))
    await emu.start("127.0.0.1", 0)
    yield emu
    await emu.stop()


def connection_values(emulator: Emulator) -> dict[str, Any]:
    assert emulator.base_url is not None
    return {"host": emulator.base_url, "deploymentName": DEFAULT_INTEGRATION_NAME, "queue": DEFAULT_QUEUE_NAME,
            "webhookSecret": DEFAULT_WEBHOOK_SECRET, "clientId": DEFAULT_CLIENT_ID,
            "clientSecret": DEFAULT_CLIENT_SECRET}


def test_the_host_validates_a_connection_and_a_node_config_against_the_manifest(emulator: Emulator) -> None:
    manifest = load_manifest()
    provider = manifest.providers["genesysCloudOM"]
    assert provider.webhook_path == "/handover/genesysCloudOM"
    connection = manifest.connections[provider.connection_type].schema().load(connection_values(emulator))
    assert isinstance(connection["clientSecret"], Secret) and connection["sendProfile"] is False
    node = manifest.nodes["handoverToAgent"]
    assert callable(node.function)  # bound from the descriptor's dotted path
    assert node.schema().load(NODE_CONFIG)["cancelText"] == "cancel"  # declared default
    with pytest.raises(ValidationError) as bad:
        manifest.connections[provider.connection_type].schema().load({**connection_values(emulator), "queue": 5})
    assert bad.value.messages == {"queue": ["Not a valid string."]}
    with pytest.raises(ValidationError):
        node.schema().load({"priority": "high"})


async def test_a_host_runs_a_handover_and_feeds_it_webhooks(emulator: Emulator, tmp_path: Path) -> None:
    manifest = load_manifest()
    (tmp_path / "flow.json").write_text(json.dumps(FLOW))
    raw = {
        "server": {"public_url": "http://127.0.0.1:1"},  # replaced once the port is known
        "store": {"url": "memory://"},
        "connections": {"support": {"type": "genesysCloudOM", **connection_values(emulator)}},
        "endpoints": [{"urlToken": "host-bot", "organisation": "acme", "flow": "flow.json", "handover": "support",
                       "sessionAccess": "open"}],
        "handover": {"acw_timeout_seconds": 0.2},
    }
    config = parse_config(raw, tmp_path / "host.toml", manifest, env=FLAGS)
    app = build_app(config, manifest)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    webhook_url = f"http://127.0.0.1:{runner.addresses[0][1]}{manifest.providers['genesysCloudOM'].webhook_path}"
    emulator.update_integration(DEFAULT_INTEGRATION_ID, webhook_url=webhook_url)
    try:
        sessions = app[keys.SESSIONS]
        store = app[keys.STORE]
        endpoint = sessions.endpoint("host-bot")
        assert endpoint is not None
        key = SessionKey("host-bot", "u1", "s1")
        await sessions.handle_input(endpoint, UserInput("u1", "s1", "hello"))
        # The handoverToAgent node (bound by the manifest's dotted path) opens a Genesys conversation.
        events = await sessions.handle_input(endpoint, UserInput("u1", "s1", "I need a person"))
        assert [e.get("text") for e in events if e["type"] == "output"] == ["Connecting you."]
        assert [e["status"] for e in events if e["type"] == "handover"] == ["queue"]
        conversation = (await eventually(lambda: _waiting(emulator), "a waiting conversation"))[0]
        assert conversation.attributes["tier"] == "gold"
        assert conversation.attributes["urlToken"] == "host-bot"

        # The agent answers: Genesys posts the signed webhook, the runtime delivers it to the session.
        await emulator.agent.accept(conversation.id)
        await emulator.agent.reply(conversation.id, "Hello, this is Anna.")
        agent_texts = await eventually(lambda: _texts(store, key, "agent"), "the agent's message")
        assert agent_texts == ["Hello, this is Anna."]

        # A host with its own HTTP front forwards the raw bytes and the signature header as they came.
        async with aiohttp.ClientSession() as http:
            async with http.post(webhook_url, data=b'{"id": "x"}',
                                 headers={"X-Hub-Signature-256": "sha256=AAAA"}) as answer:
                assert answer.status == 401
            # The agent's message again, as Genesys redelivers it: answered, and delivered once.
            delivered = emulator.webhooks.sent[-1]
            async with http.post(webhook_url, data=delivered.raw, headers={
                    "X-Hub-Signature-256": sign(DEFAULT_WEBHOOK_SECRET, delivered.raw),
                    "Content-Type": "application/json"}) as answer:
                assert answer.status == 200
        await asyncio.sleep(0.1)  # a short look for a second delivery: one would arrive now, if there were one
        assert await _texts(store, key, "agent") == ["Hello, this is Anna."]

        # The agent ends: the flow resumes below the node.
        await emulator.agent.end(conversation.id)
        bot_texts = await eventually(lambda: _texts(store, key, "bot", "Back with the bot: completed"),
                                     "the flow resumed")
        assert bot_texts[-1] == "Back with the bot: completed"
    finally:
        await runner.cleanup()


async def _waiting(emulator: Emulator) -> list[Any]:
    return emulator.agent.waiting()


async def _texts(store: Any, key: SessionKey, source: str, last: str | None = None) -> list[str]:
    events = await store.read_events(key.id, 0)
    texts = [e["text"] for e in events if e["type"] == "output" and e["source"] == source]
    return texts if texts and (last is None or texts[-1] == last) else []
