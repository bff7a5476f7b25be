"""Redis stopped under a running runtime: every route answers 503 {"error"} with Retry-After, logs stay calm.

The test starts a Redis of its own on a free port and kills it (the shared test Redis stays up).
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from extension.genesys.signature import sign
from extension.testing.clock import ManualClock
from extension.testing.emulator.config import DEFAULT_WEBHOOK_SECRET

from stack import Stack, StackFactory, agent_message, genesys_user_id, start_handover
from support import eventually, free_port

END_KEY = "end-handover-key-0123456789"


class OwnRedis:
    """A redis-server on a port of its own, which the test may stop and start again."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no",  # noqa: ASYNC220
                                      "--dir", str(self.directory)], stdout=subprocess.DEVNULL)
        await eventually(self.answers, "redis-server answers")

    async def answers(self) -> bool:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        writer.write(b"PING\r\n")
        answer = await reader.read(16)
        writer.close()
        return answer.startswith(b"+PONG")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0?prefix=down"


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    redis = OwnRedis(tmp_path)
    await redis.start()
    yield redis
    redis.stop()


async def assert_503(resp: aiohttp.ClientResponse, route: str) -> None:
    assert resp.status == 503, (route, resp.status, await resp.text())
    assert resp.content_type == "application/json", route
    assert set(await resp.json()) == {"error"}, route
    assert resp.headers.get("Retry-After", "").isdigit(), route


async def every_route_refuses(stack: Stack, cid: str, to_id: str) -> None:
    client, session = stack.client, {"userId": "u1", "sessionId": "s1"}
    await assert_503(await client.post("/support-bot", json={**session, "text": "hi"}), "POST new input")
    await assert_503(await client.post("/support-bot", json={"userId": "u9", "sessionId": "s9", "text": "hi"}),
                     "POST new session")
    await assert_503(await client.get("/support-bot/events", params=session), "GET events")
    await assert_503(await client.get("/support-bot/events", params={**session, "wait": "1"}), "GET events wait")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/support-bot/socket", params=session)
    assert refused.value.status == 503
    await assert_503(await client.delete("/support-bot/session", params=session), "DELETE session")
    raw = json.dumps(agent_message(to_id, "are you there?", "m-down")).encode()
    await assert_503(await client.post("/handover/genesysCloudOM", data=raw, headers={
        "X-Hub-Signature-256": sign(DEFAULT_WEBHOOK_SECRET, raw), "Content-Type": "application/json"}), "webhook")
    end = {"conversationId": cid, "topic": f"v2.detail.events.conversation.{cid}.customer.end"}
    await assert_503(await client.post("/handover/genesysCloudOM", json=end,
                                       headers={"Authorization": f"Bearer {END_KEY}"}), "end event")
    ready = await client.get("/readyz")
    assert ready.status == 503 and ready.headers.get("Retry-After", "").isdigit()
    assert "Redis" in (await ready.json())["store"]


async def test_every_route_answers_503_while_redis_is_down(make_stack: StackFactory, own_redis: OwnRedis,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    clock = ManualClock()
    stack = await make_stack(store=own_redis.url(), connection_extra=f'endHandoverApiKey = "{END_KEY}"', clock=clock)
    cid = await start_handover(stack)
    to_id = await genesys_user_id(stack)
    own_redis.stop()
    await every_route_refuses(stack, cid, to_id)
    # The background loops keep failing each second: each says so once, without a traceback.
    await clock.advance(3.0)
    duties = [r for r in caplog.records if r.getMessage().startswith("cluster duties pass")]
    assert len(duties) == 1, [r.getMessage() for r in duties]
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and r.exc_info], \
        [r.getMessage() for r in caplog.records if r.exc_info]

    await own_redis.start()  # empty: what was stored is gone, but the runtime answers again
    await eventually(lambda: _answers(stack), "the runtime is ready again", within=20)

    async def recovered() -> bool:
        await clock.advance(1.0)  # the next cluster duties pass
        return _logged(caplog, "cluster duties pass recovered after")

    await eventually(recovered, "the recovery line", within=20)


async def _answers(stack: Stack) -> bool:
    return (await stack.client.get("/readyz")).status == 200


def _logged(caplog: pytest.LogCaptureFixture, start: str) -> bool:
    return any(r.getMessage().startswith(start) for r in caplog.records)
