"""A Failed answer is kept like any other: a retry of its messageId gets it without running the flow again."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot_connector.helpers import CREDENTIAL, BotClient, ask, call
from extension import keys
from extension.flows.engine import NodeApi
from extension.flows.session import SessionKey
from extension.testing.clock import ManualClock

from support import while_advancing


class Vault(Exception):
    """An error whose text holds a secret, as a store or client error may."""


def replace_node(client: TestClient[Any, Any], node_id: str, function: Callable[..., Any]) -> None:
    """Run `function` as the endpoint flow's node `node_id` (a fault to inject)."""
    node = client.app[keys.SESSIONS].endpoint("genesys-bot").flow.node(node_id)
    object.__setattr__(node, "function", function)


async def transcript(client: TestClient[Any, Any]) -> list[str]:
    doc = await client.app[keys.STORE].get_session(SessionKey("genesys-bot", "conv-1", "bs-1").id)
    return [t["text"] for t in doc["transcript"]]


async def test_a_node_error_answers_failed_once_and_its_retry_runs_nothing(
        store_url: str, bot_client: BotClient, caplog: pytest.LogCaptureFixture) -> None:
    client = await bot_client(store=store_url)
    runs: list[str] = []

    def broken(api: NodeApi, config: dict[str, Any]) -> None:
        runs.append(api.input["text"])
        raise Vault(f"cannot reach redis://:{CREDENTIAL}@cache")

    replace_node(client, "broken", broken)
    await ask(client, call("hello"))
    body = call("fail please", message_id="m-fail")
    with caplog.at_level(logging.DEBUG):
        answer = await ask(client, body)
    assert answer == {"botState": "Failed", "replyMessages": [], "errorInfo": {
        "errorCode": "FlowFailed", "errorMessage": "node 'broken' (goTo) failed: Vault"}}
    assert CREDENTIAL not in json.dumps(answer) and CREDENTIAL not in caplog.text
    assert await ask(client, body) == answer
    assert runs == ["fail please"]
    # The session goes on where it was before the failed turn.
    assert (await ask(client, call("still there?")))["replyMessages"] == [
        {"type": "Text", "text": "You said: still there?"}]
    assert "fail please" not in await transcript(client)


async def test_a_turn_past_the_deadline_answers_failed_and_its_retry_runs_nothing(
        store_url: str, bot_client: BotClient) -> None:
    clock = ManualClock()  # the deadline is on the runtime's clock
    client = await bot_client(store=store_url, table_extra="deadline_seconds = 1\n", clock=clock)
    runs: list[str] = []
    never = asyncio.Event()

    async def stuck(api: NodeApi, config: dict[str, Any]) -> None:
        runs.append(api.input["text"])
        api.output("too late")
        await never.wait()

    replace_node(client, "slow", stuck)
    await ask(client, call("hello"))
    body = call("slow please", message_id="m-slow")
    answer = await while_advancing(clock, ask(client, body), step=0.25)
    assert answer["botState"] == "Failed" and answer["errorInfo"]["errorCode"] == "Timeout"
    assert clock.monotonic() >= 1.0  # answered at its deadline, not before
    assert await ask(client, body) == answer
    assert runs == ["slow please"]
    # The cancelled turn stored nothing: not its output, not an answer of its own over the Failed one.
    assert "too late" not in await transcript(client) and "slow please" not in await transcript(client)
    assert (await ask(client, call("hello again")))["replyMessages"] == [
        {"type": "Text", "text": "You said: hello again"}]
    assert await ask(client, body) == answer and runs == ["slow please"]
