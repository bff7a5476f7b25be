"""GET /metrics after a real handover: handovers by status, webhooks by outcome, Genesys calls by status."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from stack import Stack, StackFactory, texts

WEBHOOK = "/handover/genesysCloudOM"


async def scrape(stack: Stack) -> dict[str, float]:
    """Every sample of /metrics as {'name{labels}': value}."""
    resp = await stack.client.get("/metrics")
    assert resp.status == 200 and resp.content_type == "text/plain"
    samples: dict[str, float] = {}
    for line in (await resp.text()).splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            samples[series] = float(value)
    return samples


def family(samples: dict[str, float], name: str) -> dict[str, float]:
    return {k: v for k, v in samples.items() if k == name or k.startswith(name + "{")}


async def settled_calls(stack: Stack) -> tuple[dict[str, float], list[Any]]:
    """The samples and the API calls the emulator answered, once those are all counted (a background
    call may still be on its way); after 10 s, whatever was seen last, for the assertions to explain."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        samples = await scrape(stack)
        answered = [r for r in stack.emu.requests if r.status is not None]
        counted = sum(family(samples, "genesys_om_genesys_calls_total").values())
        if counted == len(answered) or loop.time() > deadline:
            return samples, answered
        await asyncio.sleep(0.05)


async def test_metrics_count_one_handover_from_start_to_end(make_stack: StackFactory) -> None:
    stack = await make_stack()
    await stack.say("hello")
    await stack.say("I want an agent")
    cid = await stack.conversation_id()
    await stack.subscribed(cid)
    await stack.emu.agent.accept(cid)
    await stack.emu.agent.reply(cid, "Hi, this is Anna.")
    await stack.wait_for(lambda ev: "Hi, this is Anna." in texts(ev, "agent"))
    await stack.emu.agent.end(cid)
    await stack.wait_status("completed")
    # One forged webhook: refused, and counted under its own outcome.
    forged = await stack.client.post(WEBHOOK, data=json.dumps({"id": "x"}),
                                     headers={"X-Hub-Signature-256": "sha256=00"})
    assert forged.status == 401

    samples, answered = await settled_calls(stack)
    assert family(samples, "genesys_om_handovers_total") == {
        'genesys_om_handovers_total{status="queue"}': 1,
        'genesys_om_handovers_total{status="active"}': 1,
        'genesys_om_handovers_total{status="completed"}': 1,
    }
    assert family(samples, "genesys_om_webhooks_total") == {
        'genesys_om_webhooks_total{outcome="delivered"}': 1,
        'genesys_om_webhooks_total{outcome="invalid_signature"}': 1,
    }
    # Every API call the emulator answered, by status: here all succeeded.
    by_status: dict[str, float] = {}
    for r in answered:
        key = f'genesys_om_genesys_calls_total{{status="{r.status}"}}'
        by_status[key] = by_status.get(key, 0) + 1
    assert family(samples, "genesys_om_genesys_calls_total") == by_status
    assert set(by_status) == {'genesys_om_genesys_calls_total{status="200"}'}
    inbound = [r for r in answered if r.path.endswith("/inbound/open/message")]
    assert len(inbound) == 1

    # Latencies: per Genesys call, per route, and the webhook acknowledgement of the agent message.
    assert samples['genesys_om_genesys_call_seconds_count{call="POST /oauth/token"}'] == 1
    assert samples['genesys_om_genesys_call_seconds_count{call="GET /api/v2/routing/queues"}'] == 1
    assert sum(v for k, v in samples.items()
               if k.startswith("genesys_om_genesys_call_seconds_count")) == len(answered)
    assert samples["genesys_om_webhook_ack_seconds_count"] == 1
    assert samples[f'genesys_om_http_request_seconds_count{{route="{WEBHOOK}"}}'] == 2
    assert samples['genesys_om_http_request_seconds_count{route="/{urlToken}"}'] == 2
    assert samples['genesys_om_user_inputs_total{endpoint="support-bot",outcome="flow"}'] == 2
