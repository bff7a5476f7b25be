"""handoverToAgent's queue on a Bot Connector endpoint: the node's, else the endpoint's default."""

from __future__ import annotations

from typing import Any

import pytest

from bot_connector.helpers import BotClient, ask, call, flow_with
from extension.config import ConfigError, load_config
from extension.manifest import Manifest

ROUTING = {"source": "bot", "language": "en-us", "skills": "billing,vip", "priority": "5"}


def escalation(parameters: dict[str, str]) -> dict[str, Any]:
    return {"botState": "Complete", "replyMessages": [{"type": "Text", "text": "You are being connected to an agent."}],
            "intent": "Escalate", "confidence": 1.0, "entities": [], "parameters": parameters}


@pytest.mark.parametrize(("node_queue", "default", "expected"), [
    ("Billing", None, "Billing"),
    (None, "Support", "Support"),
    ("Billing", "Support", "Billing"),
])
async def test_handover_completes_with_the_queue_of_the_node_else_of_the_endpoint(
        bot_client: BotClient, node_queue: str | None, default: str | None, expected: str) -> None:
    flow = flow_with("handover", queue=node_queue) if node_queue else None
    client = await bot_client(flow=flow, table_extra=f'queue = "{default}"\n' if default else "")
    await ask(client, call("hello"))
    assert await ask(client, call("an agent please")) == escalation({**ROUTING, "queue": expected})


async def test_without_any_queue_the_parameters_name_none(bot_client: BotClient) -> None:
    client = await bot_client()
    await ask(client, call("hello"))
    assert await ask(client, call("an agent please")) == escalation(ROUTING)


def test_a_webchat_handover_node_with_a_queue_is_refused_naming_it(
        write_config: Any, manifest: Manifest) -> None:
    flow = {"name": "f", "nodes": [{"id": "agent", "type": "handoverToAgent", "config": {"queue": "Billing"}}]}
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(flow), manifest, env={})
    assert caught.value.errors == [
        "endpoints[0].flow: node 'agent' (handoverToAgent) sets queue, which only an endpoint of type "
        "'genesysBotConnector' uses; on this endpoint the connection's queue (connections.support.queue) "
        "routes its handovers"]


def test_a_webchat_handover_node_with_an_empty_queue_loads(write_config: Any, manifest: Manifest) -> None:
    flow = {"name": "f", "nodes": [{"id": "agent", "type": "handoverToAgent", "config": {"queue": ""}}]}
    config = load_config(write_config(flow), manifest, env={})
    assert config.flows["support-bot"].nodes[0].type == "handoverToAgent"
