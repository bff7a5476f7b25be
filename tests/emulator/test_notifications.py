"""Notifications API: channels, subscriptions, the WebSocket, and conversation detail events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from extension.testing.emulator import Emulator

from .conftest import GUARD, Api, FakeMiddleware, make_config, next_frame

CHANNELS = "/api/v2/notifications/channels"
ClientFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


def topics(cid: str) -> list[str]:
    prefix = f"v2.detail.events.conversation.{cid}"
    return [f"{prefix}.customer.end", f"{prefix}.user.start", f"{prefix}.user.end", f"{prefix}.acw"]


async def _sentinel(api: Api, socket: aiohttp.ClientWebSocketResponse) -> None:
    """Prove nothing else came first: socket_closing is the next frame on this socket."""
    await api.emulator.faults.socket_closing()
    assert (await next_frame(socket))["topicName"] == "v2.system.socket_closing"


async def test_channel_shape_and_subscriptions(api: Api) -> None:
    status, channel, _ = await api.call("POST", CHANNELS)
    assert status == 200
    assert set(channel) == {"id", "connectUri", "expires"}
    assert channel["connectUri"].startswith(f"ws://{api.client.host}:{api.client.port}/")
    assert channel["expires"].endswith("Z")
    path = f"{CHANNELS}/{channel['id']}/subscriptions"
    status, body, _ = await api.call("PUT", path, [{"id": "a"}, {"id": "b"}])
    assert status == 200 and body == {"entities": [{"id": "a", "state": "Permitted"},
                                                   {"id": "b", "state": "Permitted"}]}
    status, body, _ = await api.call("POST", path, [{"id": "b"}, {"id": "c"}])
    assert [t["id"] for t in body["entities"]] == ["a", "b", "c"]
    status, body, _ = await api.call("PUT", path, [{"id": "z"}])
    assert [t["id"] for t in body["entities"]] == ["z"]
    status, body, _ = await api.call("GET", path)
    assert status == 200 and body == {"entities": [{"id": "z"}]}
    assert (await api.call("DELETE", path))[0] == 204
    assert (await api.call("GET", path))[1] == {"entities": []}
    _, listed, _ = await api.call("GET", CHANNELS)
    assert [c["id"] for c in listed["entities"]] == [channel["id"]]


@pytest.mark.parametrize("body", [{"id": "a"}, [{"topic": "a"}], ["a"], [{"id": ""}]])
async def test_bad_subscription_bodies_are_400(api: Api, body: Any) -> None:
    _, channel, _ = await api.call("POST", CHANNELS)
    status, answer, _ = await api.call("PUT", f"{CHANNELS}/{channel['id']}/subscriptions", body)
    assert status == 400 and answer["code"] == "bad.request"


async def test_topic_limit_per_channel(api: Api) -> None:
    api.emulator.config.max_topics_per_channel = 3
    _, channel, _ = await api.call("POST", CHANNELS)
    path = f"{CHANNELS}/{channel['id']}/subscriptions"
    assert (await api.call("PUT", path, [{"id": f"t{n}"} for n in range(3)]))[0] == 200
    status, body, _ = await api.call("POST", path, [{"id": "t3"}])
    assert status == 400 and body["status"] == 400 and body["contextId"]
    assert (await api.call("PUT", path, [{"id": f"t{n}"} for n in range(4)]))[0] == 400
    assert len((await api.call("GET", path))[1]["entities"]) == 3  # unchanged


async def test_a_channel_past_the_limit_silently_removes_the_oldest_unconnected_first(api: Api) -> None:
    api.emulator.config.max_channels_per_client = 2
    oldest, socket = await api.channel("v2.detail.events.conversation.c-1.user.end")
    _, idle, _ = await api.call("POST", CHANNELS)
    # The third succeeds like any other; the unconnected one goes, although the connected one is older.
    status, third, _ = await api.call("POST", CHANNELS)
    assert status == 200
    listed = [c["id"] for c in (await api.call("GET", CHANNELS))[1]["entities"]]
    assert listed == [oldest["id"], third["id"]]
    assert (await api.call("GET", f"{CHANNELS}/{idle['id']}/subscriptions"))[0] == 404
    # With every channel connected, the one used longest ago goes, and its socket is closed.
    third_socket = await api.client.session.ws_connect(third["connectUri"])
    assert (await api.call("POST", CHANNELS))[0] == 200
    assert [c.id for c in api.emulator.notifications.evicted] == [idle["id"], oldest["id"]]
    message = await asyncio.wait_for(socket.receive(), GUARD)
    while message.type == aiohttp.WSMsgType.TEXT:  # heartbeats sent before the close
        message = await asyncio.wait_for(socket.receive(), GUARD)
    assert socket.closed
    await third_socket.close()
    # Channels are counted per OAuth client.
    api.emulator.config.clients["second-client"] = "second-secret"
    other = api.emulator.issue_token("second-client")
    assert (await api.call("POST", CHANNELS, token=other))[0] == 200
    assert len(api.emulator.notifications.evicted) == 2


async def test_channels_belong_to_their_client(api: Api) -> None:
    _, channel, _ = await api.call("POST", CHANNELS)
    api.emulator.config.clients["second-client"] = "second-secret"
    other = api.emulator.issue_token("second-client")
    status, body, _ = await api.call("GET", f"{CHANNELS}/{channel['id']}/subscriptions", token=other)
    assert status == 404 and body["code"] == "not.found"


async def test_unknown_channel_is_404(api: Api) -> None:
    status, body, _ = await api.call("GET", f"{CHANNELS}/nope/subscriptions")
    assert status == 404 and body["code"] == "not.found"
    async with api.client.get("/channels/nope") as response:
        assert response.status == 404


async def test_agent_lifecycle_events_reach_subscribed_sockets_only(api: Api) -> None:
    cid = (await api.inbound("hi", user="alice"))["conversationId"]
    other = (await api.inbound("hi", user="bob"))["conversationId"]
    _, mine = await api.channel(*topics(cid))
    _, theirs = await api.channel(*topics(other))
    agent = await api.emulator.agent.accept(cid, agent="Anna")
    start = await next_frame(mine)
    assert start["topicName"] == f"v2.detail.events.conversation.{cid}.user.start"
    body = start["eventBody"]
    assert body["conversationId"] == cid and body["participantId"] == agent.id
    assert body["userId"] == agent.user_id and body["queueId"] == "queue-support"
    assert (body["mediaType"], body["messageType"]) == ("MESSAGE", "OPEN")
    assert isinstance(body["eventTime"], int)
    await api.emulator.agent.end(cid)
    end, acw = await next_frame(mine), await next_frame(mine)
    assert end["topicName"].endswith(".user.end") and end["eventBody"]["disconnectType"] == "CLIENT"
    assert acw["topicName"].endswith(".acw") and acw["eventBody"]["participantId"] == agent.id
    await _sentinel(api, theirs)


async def test_transfer_is_user_end_transfer_then_user_start(api: Api) -> None:
    cid = (await api.inbound("hi"))["conversationId"]
    _, socket = await api.channel(*topics(cid))
    first = await api.emulator.agent.accept(cid, agent="Anna")
    await next_frame(socket)
    second = await api.emulator.agent.transfer(cid, "Bob")
    end, start = await next_frame(socket), await next_frame(socket)
    assert end["topicName"].endswith(".user.end")
    assert end["eventBody"]["disconnectType"] == "TRANSFER"
    assert end["eventBody"]["participantId"] == first.id
    assert start["topicName"].endswith(".user.start")
    assert start["eventBody"]["participantId"] == second.id
    assert start["eventBody"]["userId"] != end["eventBody"]["userId"]
    assert api.emulator.conversations.require(cid).agent is second


async def test_customer_end_event(api: Api) -> None:
    cid = (await api.inbound("hi"))["conversationId"]
    _, socket = await api.channel(*topics(cid))
    await api.emulator.agent.customer_end(cid)
    frame = await next_frame(socket)
    assert frame["topicName"] == f"v2.detail.events.conversation.{cid}.customer.end"
    assert frame["eventBody"]["disconnectType"] == "CLIENT"
    customer = api.emulator.conversations.require(cid).customer
    assert frame["eventBody"]["participantId"] == customer.id


async def test_partial_subscription_gets_only_its_topics(api: Api) -> None:
    cid = (await api.inbound("hi"))["conversationId"]
    _, socket = await api.channel(f"v2.detail.events.conversation.{cid}.user.end")
    await api.emulator.agent.accept(cid)
    await api.emulator.agent.end(cid)
    assert (await next_frame(socket))["topicName"].endswith(".user.end")
    await _sentinel(api, socket)  # neither user.start nor acw came


async def test_dropped_notification_never_arrives(api: Api) -> None:
    cid = (await api.inbound("hi"))["conversationId"]
    _, socket = await api.channel(*topics(cid))
    api.emulator.faults.drop_notifications(1)
    await api.emulator.agent.accept(cid)
    await api.emulator.agent.end(cid)
    assert (await next_frame(socket))["topicName"].endswith(".user.end")
    [start] = api.emulator.published_events(f"v2.detail.events.conversation.{cid}.user.start")
    assert start.dropped and start.delivered_to == []


async def test_ping_gets_pong(api: Api) -> None:
    _, socket = await api.channel()
    await socket.send_json({"message": "ping"})
    frame = await next_frame(socket, heartbeats=True)
    assert frame == {"topicName": "channel.metadata", "eventBody": {"message": "pong"}}


async def test_heartbeats(aiohttp_client: ClientFactory, middleware: FakeMiddleware) -> None:
    emulator = Emulator(make_config(middleware.url, heartbeat_interval=0.01))
    api = Api(await aiohttp_client(emulator.app), emulator)
    _, socket = await api.channel()
    for _ in range(3):
        frame = await next_frame(socket, heartbeats=True)
        assert frame == {
            "topicName": "channel.metadata",
            "eventBody": {"message": "WebSocket Heartbeat"},
        }


async def test_closed_socket_can_reconnect_to_the_same_channel(api: Api) -> None:
    cid = (await api.inbound("hi"))["conversationId"]
    channel, socket = await api.channel(*topics(cid))
    assert await api.emulator.faults.close_notification_sockets() == 1
    message = await asyncio.wait_for(socket.receive(), GUARD)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    again = await api.client.session.ws_connect(channel["connectUri"])
    await api.emulator.agent.accept(cid)
    assert (await next_frame(again))["topicName"].endswith(".user.start")


async def test_a_second_connection_replaces_the_first(api: Api) -> None:
    channel, first = await api.channel()
    second = await api.client.session.ws_connect(channel["connectUri"])
    message = await asyncio.wait_for(first.receive(), GUARD)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    await api.emulator.faults.socket_closing(channel["id"])
    assert (await next_frame(second))["topicName"] == "v2.system.socket_closing"


async def test_expired_channel_closes_and_is_gone(api: Api) -> None:
    channel, socket = await api.channel("some.topic")
    assert await api.emulator.faults.expire_channel(channel["id"]) == 1
    message = await asyncio.wait_for(socket.receive(), GUARD)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    status, _, _ = await api.call("GET", f"{CHANNELS}/{channel['id']}/subscriptions")
    assert status == 404
    async with api.client.head(
        f"{CHANNELS}/{channel['id']}", headers={"Authorization": f"Bearer {await api.token()}"}
    ) as response:
        assert response.status == 404


async def test_channel_lifetime_ends_the_socket(
    aiohttp_client: ClientFactory, middleware: FakeMiddleware
) -> None:
    emulator = Emulator(make_config(middleware.url, channel_lifetime=0.05))
    api = Api(await aiohttp_client(emulator.app), emulator)
    channel, socket = await api.channel()
    message = await asyncio.wait_for(socket.receive(), GUARD)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert (await api.call("GET", f"{CHANNELS}/{channel['id']}/subscriptions"))[0] == 404


async def test_live_channel_answers_head(api: Api) -> None:
    _, channel, _ = await api.call("POST", CHANNELS)
    headers = {"Authorization": f"Bearer {await api.token()}"}
    async with api.client.head(f"{CHANNELS}/{channel['id']}", headers=headers) as response:
        assert response.status == 200
