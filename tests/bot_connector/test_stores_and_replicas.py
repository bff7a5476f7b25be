"""The Bot Connector endpoint on every store, and two replicas sharing Redis."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot_connector.helpers import BASE, FLAG, HEADERS, BotClient, call, write_bot_config
from extension import keys
from extension.app import build_app
from extension.config import load_config
from extension.flows.session import SessionKey
from extension.manifest import Manifest

from redis_server import delete_prefix, new_prefix, redis_url, require_redis

MESSAGES = f"{BASE}/botconnector/messages"


async def ask(client: TestClient[Any, Any], body: dict[str, Any]) -> dict[str, Any]:
    resp = await client.post(MESSAGES, data=json.dumps(body), headers=HEADERS)
    assert resp.status == 200
    answer: dict[str, Any] = await resp.json()
    return answer


async def test_a_bot_session_on_every_store(store_url: str, bot_client: BotClient) -> None:
    client = await bot_client(store=store_url)
    assert (await ask(client, call("hello")))["replyMessages"] == [{"type": "Text", "text": "Hi, I am the bot."}]
    retry = call("remember me", message_id="m-7")
    first = await ask(client, retry)
    assert await ask(client, retry) == first
    answer = await ask(client, call("agent"))
    assert answer["botState"] == "Complete" and answer["intent"] == "Escalate"


async def test_replicas_on_redis_answer_a_retry_alike_and_never_run_one_session_twice_at_once(
        aiohttp_client: Any, tmp_path: Path, manifest: Manifest) -> None:
    require_redis()
    prefix = new_prefix()
    try:
        config = load_config(write_bot_config(tmp_path, store=redis_url(prefix, lock_seconds=5)), manifest, env=FLAG)
        one, two = [await aiohttp_client(build_app(config, manifest)) for _ in range(2)]
        await ask(one, call("hello"))
        # Genesys retries a call that timed out: the retry may reach the other replica.
        retry = call("where is my order", message_id="m-retry")
        first = await ask(one, retry)
        assert await ask(two, retry) == first
        # Calls of one bot session spread over both replicas take the session one at a time.
        answers = await asyncio.gather(*(ask(replica, call(f"message {n}"))
                                         for n, replica in enumerate([one, two, one, two])))
        assert sorted(a["replyMessages"][0]["text"] for a in answers) == [f"You said: message {n}" for n in range(4)]
        doc = await one.app[keys.STORE].get_session(SessionKey("genesys-bot", "conv-1", "bs-1").id)
        transcript = [t["text"] for t in doc["transcript"]]
        # Each input is followed by its own answer: no two turns of the session interleaved.
        pairs = list(zip(transcript[4::2], transcript[5::2], strict=True))
        assert len(pairs) == 4 and all(answer == f"You said: {said}" for said, answer in pairs)
    finally:
        await delete_prefix(prefix)
