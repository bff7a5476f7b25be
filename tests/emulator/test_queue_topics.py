"""Queue conversation topics: every change of a queue's message conversations, shaped like the SDK's model."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from extension.testing.emulator.config import DEFAULT_CLIENT_ID
from extension.testing.emulator.queue_events import queue_topic

from .conftest import Api, next_frame

PERMISSION = "routing:queue:view"
SUPPORT = queue_topic("queue-support")
BILLING = queue_topic("queue-billing")
MODEL = "QueueConversationMessageEventTopicMessageConversation"


def states(body: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(p["purpose"], p["state"], (p.get("queue") or {}).get("id")) for p in body["participants"]]


async def frame_of(socket: aiohttp.ClientWebSocketResponse, cid: str) -> dict[str, Any]:
    frame = await next_frame(socket)
    assert frame["eventBody"]["id"] == cid
    return frame


async def test_each_change_reaches_the_queue_topic_in_the_sdk_model_shape(api: Api) -> None:
    pytest.importorskip("PureCloudPlatformClientV2")
    from .sdk import deserialize

    _, socket = await api.channel(SUPPORT)
    await api.inbound()
    cid = api.emulator.agent.waiting()[-1].id
    opened = await frame_of(socket, cid)
    assert opened["topicName"] == SUPPORT
    assert states(opened["eventBody"]) == [("customer", "connected", None), ("acd", "connected", "queue-support")]

    await api.emulator.agent.ring(cid)
    ringing = (await frame_of(socket, cid))["eventBody"]
    assert states(ringing)[-1] == ("agent", "alerting", "queue-support")
    await api.emulator.agent.accept(cid)
    accepted = (await frame_of(socket, cid))["eventBody"]
    assert states(accepted)[1:] == [("acd", "disconnected", "queue-support"), ("agent", "connected", "queue-support")]
    await api.emulator.agent.end(cid)
    ended = (await frame_of(socket, cid))["eventBody"]
    assert [s for _, s, _ in states(ended)] == ["disconnected"] * 3
    agent = ended["participants"][-1]
    assert agent["disconnectType"] == "client" and agent["wrapupRequired"] is True

    for body in (opened["eventBody"], ringing, accepted, ended):
        model = deserialize(body, MODEL)  # out-of-enum values (state, purpose, disconnectType) fail here
        assert model["id"] == cid
        assert [p["purpose"] for p in model["participants"]] == [p["purpose"] for p in body["participants"]]
        for ours, theirs in zip(body["participants"], model["participants"], strict=True):
            assert {k for k, v in theirs.items() if v is not None} >= {
                "id", "name", "purpose", "state", "start_time", "direction", "type"}
            assert theirs["state"] == ours["state"]
            assert theirs["disconnect_type"] == ours.get("disconnectType")
            assert (theirs["queue"] or {}).get("id") == (ours.get("queue") or {}).get("id")
            assert (theirs["user"] or {}).get("id") == (ours.get("user") or {}).get("id")


async def test_a_transfer_reaches_the_queue_it_leaves_and_the_one_it_joins(api: Api) -> None:
    _, support = await api.channel(SUPPORT)
    _, billing = await api.channel(BILLING)
    await api.inbound()
    cid = api.emulator.agent.waiting()[-1].id
    await frame_of(support, cid)
    await api.emulator.agent.accept(cid)
    await frame_of(support, cid)
    await api.emulator.agent.transfer_to_queue(cid, "Billing")
    left = (await frame_of(support, cid))["eventBody"]
    joined = (await frame_of(billing, cid))["eventBody"]
    assert left == joined
    assert states(left)[-2:] == [("agent", "disconnected", "queue-support"), ("acd", "connected", "queue-billing")]
    assert left["participants"][-2]["disconnectType"] == "transfer"
    # From now on only Billing hears of it: a later answer and end there.
    await api.emulator.agent.accept(cid, "Bob")
    assert states((await frame_of(billing, cid))["eventBody"])[-1] == ("agent", "connected", "queue-billing")
    await api.emulator.agent.end(cid)
    assert (await frame_of(billing, cid))["eventBody"]["participants"][-1]["disconnectType"] == "client"
    topics = [e.topic for e in api.emulator.notifications.published if cid in str(e.body.get("id"))]
    assert topics.count(SUPPORT) == 3 and topics.count(BILLING) == 3


async def test_a_queue_topic_is_one_topic_of_the_channel_limit(api: Api) -> None:
    api.emulator.config.max_topics_per_channel = 2
    status, channel, _ = await api.call("POST", "/api/v2/notifications/channels")
    path = f"/api/v2/notifications/channels/{channel['id']}/subscriptions"
    status, body, _ = await api.call("PUT", path, [{"id": SUPPORT}, {"id": BILLING}])
    assert status == 200 and [t["state"] for t in body["entities"]] == ["Permitted", "Permitted"]
    status, _, _ = await api.call("POST", path, [{"id": queue_topic("queue-3")}])
    assert status == 400


async def test_a_client_without_the_permission_is_refused_the_queue_topic(api: Api) -> None:
    api.emulator.config.missing_permissions[DEFAULT_CLIENT_ID] = [PERMISSION]
    status, channel, _ = await api.call("POST", "/api/v2/notifications/channels")
    path = f"/api/v2/notifications/channels/{channel['id']}/subscriptions"
    status, body, _ = await api.call("PUT", path, [{"id": SUPPORT}])
    assert status == 403 and PERMISSION in body["message"]
    status, body, _ = await api.call("PUT", path + "?ignoreErrors=true", [{"id": SUPPORT}])
    assert status == 200
    assert body["entities"] == [{"id": SUPPORT, "state": "Rejected", "rejectionReason": "Missing permissions",
                                 "missingPermissions": [PERMISSION]}]
