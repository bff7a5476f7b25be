"""Conversation lifecycle: one open conversation per end user, queues, participants, PATCH."""

from __future__ import annotations

from typing import Any

import pytest

from extension.testing.emulator import InvalidState, UnknownConversation

from .conftest import Api

CONVERSATION = "/api/v2/conversations/messages/{}"


def _by_purpose(conversation: dict[str, Any], purpose: str) -> list[dict[str, Any]]:
    return [p for p in conversation["participants"] if p["purpose"] == purpose]


async def test_one_conversation_per_end_user(api: Api) -> None:
    first = await api.inbound("one", user="alice")
    second = await api.inbound("two", user="alice")
    other = await api.inbound("three", user="bob")
    assert first["conversationId"] == second["conversationId"] != other["conversationId"]
    assert first["id"] != second["id"]
    texts = [e.text for e in api.emulator.inbound_messages(first["conversationId"])]
    assert texts == ["one", "two"]


async def test_conversation_id_only_when_prefetched(api: Api) -> None:
    answer = await api.inbound("hi", prefetch=False)
    assert "conversationId" not in answer
    assert answer["text"] == "hi" and answer["type"] == "Text"
    assert answer["channel"]["from"]["id"] == "user-1"


async def test_new_conversation_shows_customer_and_queue(api: Api) -> None:
    answer = await api.inbound("hi", attributes={"sessionId": "s-1", "queue": "Billing"})
    status, body, _ = await api.call("GET", CONVERSATION.format(answer["conversationId"]))
    assert status == 200
    assert body["id"] == answer["conversationId"]
    [customer] = _by_purpose(body, "customer")
    assert customer["state"] == "connected"
    assert customer["attributes"] == {"sessionId": "s-1", "queue": "Billing"}
    assert customer["name"] == "Jane Doe"
    [acd] = _by_purpose(body, "acd")
    assert acd["state"] == "connected" and acd["queue"]["id"] == "queue-billing"
    assert _by_purpose(body, "agent") == []


@pytest.mark.parametrize(
    ("attributes", "queue_id"),
    [
        ({"queue": "Billing"}, "queue-billing"),
        ({"queueId": "queue-billing", "queue": "Support"}, "queue-billing"),
        ({"queue": "Nonexistent"}, "queue-support"),
        ({}, "queue-support"),
    ],
)
async def test_queue_choice(api: Api, attributes: dict[str, str], queue_id: str) -> None:
    answer = await api.inbound("hi", attributes=attributes)
    assert api.emulator.conversations.require(answer["conversationId"]).queue_id == queue_id
    assert [c.id for c in api.emulator.agent.waiting()] == [answer["conversationId"]]


async def test_later_attributes_are_merged_into_participant_data(api: Api) -> None:
    answer = await api.inbound("hi", attributes={"a": "1"})
    await api.inbound("again", attributes={"b": "2"})
    conversation = api.emulator.conversations.require(answer["conversationId"])
    assert conversation.attributes == {"a": "1", "b": "2"}


async def test_accept_connects_an_agent_and_leaves_the_queue(api: Api) -> None:
    answer = await api.inbound("hi")
    cid = answer["conversationId"]
    participant = await api.emulator.agent.accept(cid, agent="Anna")
    _, body, _ = await api.call("GET", CONVERSATION.format(cid))
    [agent] = _by_purpose(body, "agent")
    assert agent["id"] == participant.id and agent["name"] == "Anna"
    assert agent["state"] == "connected" and agent["user"]["id"] == participant.user_id
    assert _by_purpose(body, "acd")[0]["state"] == "disconnected"
    assert api.emulator.agent.waiting() == []
    assert [c.id for c in api.emulator.agent.active()] == [cid]
    with pytest.raises(InvalidState):
        await api.emulator.agent.accept(cid, agent="Bob")


async def test_after_the_agent_ends_a_new_message_opens_a_new_conversation(api: Api) -> None:
    first = (await api.inbound("hi"))["conversationId"]
    await api.emulator.agent.accept(first)
    await api.emulator.agent.end(first)
    _, body, _ = await api.call("GET", CONVERSATION.format(first))
    assert {p["state"] for p in body["participants"]} == {"disconnected"}
    assert _by_purpose(body, "agent")[0]["disconnectType"] == "client"
    assert _by_purpose(body, "customer")[0]["disconnectType"] == "peer"
    second = (await api.inbound("back again"))["conversationId"]
    assert second != first
    assert [c.id for c in api.emulator.agent.waiting()] == [second]
    with pytest.raises(InvalidState):
        await api.emulator.agent.reply(first, "too late")


async def test_patch_customer_disconnected_ends_the_conversation(api: Api) -> None:
    cid = (await api.inbound("hi"))["conversationId"]
    await api.emulator.agent.accept(cid)
    _, body, _ = await api.call("GET", CONVERSATION.format(cid))
    customer = _by_purpose(body, "customer")[0]["id"]
    path = CONVERSATION.format(cid) + f"/participants/{customer}"
    status, _, _ = await api.call("PATCH", path, {"state": "disconnected"})
    assert status == 202
    _, body, _ = await api.call("GET", CONVERSATION.format(cid))
    assert _by_purpose(body, "customer")[0]["state"] == "disconnected"
    assert _by_purpose(body, "customer")[0]["disconnectType"] == "client"
    assert _by_purpose(body, "agent")[0]["state"] == "disconnected"
    [event] = api.emulator.published_events(f"v2.detail.events.conversation.{cid}.customer.end")
    assert event.body["disconnectType"] == "CLIENT" and event.body["participantId"] == customer
    # Again: nothing more happens.
    status, _, _ = await api.call("PATCH", path, {"state": "disconnected"})
    assert status == 202
    assert len(api.emulator.published_events()) == 2  # user.start, customer.end
    assert (await api.inbound("new"))["conversationId"] != cid


async def test_patch_agent_disconnected_is_an_agent_end(api: Api) -> None:
    cid = (await api.inbound("hi"))["conversationId"]
    agent = await api.emulator.agent.accept(cid)
    path = CONVERSATION.format(cid) + f"/participants/{agent.id}"
    assert (await api.call("PATCH", path, {"state": "disconnected"}))[0] == 202
    prefix = f"v2.detail.events.conversation.{cid}."
    topics = [e.topic.removeprefix(prefix) for e in api.emulator.published_events()]
    assert topics == ["user.start", "user.end", "acw"]


@pytest.mark.parametrize(
    ("body", "status"),
    [({"state": "connected"}, 400), ({}, 400), ("x", 400)],
)
async def test_patch_bad_bodies(api: Api, body: Any, status: int) -> None:
    cid = (await api.inbound("hi"))["conversationId"]
    customer = api.emulator.conversations.require(cid).customer.id
    got, answer, _ = await api.call("PATCH", CONVERSATION.format(cid) + f"/participants/{customer}",
                                    body)  # fmt: skip
    assert got == status and answer["status"] == status


async def test_unknown_conversation_or_participant_is_404(api: Api) -> None:
    status, body, _ = await api.call("GET", CONVERSATION.format("nope"))
    assert status == 404 and body["code"] == "not.found"
    cid = (await api.inbound("hi"))["conversationId"]
    path = CONVERSATION.format(cid) + "/participants/nope"
    status, body, _ = await api.call("PATCH", path, {"state": "disconnected"})
    assert status == 404 and body["code"] == "not.found"
    with pytest.raises(UnknownConversation):
        await api.emulator.agent.accept("nope")


async def test_without_a_linked_flow_nothing_routes_the_conversation(api: Api) -> None:
    api.emulator.update_integration("integration-1", flow_id=None)
    cid = (await api.inbound("hi"))["conversationId"]
    conversation = api.emulator.conversations.require(cid)
    assert conversation.state == "unrouted"
    assert api.emulator.agent.waiting() == []
    with pytest.raises(InvalidState):
        await api.emulator.agent.accept(cid)
    _, body, _ = await api.call("GET", CONVERSATION.format(cid))
    assert [p["purpose"] for p in body["participants"]] == ["customer"]


async def test_transcript_keeps_inbound_messages_and_flags_reused_message_ids(api: Api) -> None:
    cid = (await api.inbound("first", message_id="m-1"))["conversationId"]
    await api.inbound("first", message_id="m-1")
    await api.inbound("second", message_id="m-2")
    entries = api.emulator.agent.transcript(cid)
    assert [(e.text, e.message_id, e.duplicate) for e in entries] == [
        ("first", "m-1", False), ("first", "m-1", True), ("second", "m-2", False),
    ]  # fmt: skip
    assert all(e.sender == "customer" and e.direction == "inbound" for e in entries)


async def test_receipts_attach_to_the_agent_message(api: Api) -> None:
    cid = (await api.inbound("hi"))["conversationId"]
    await api.emulator.agent.accept(cid)
    delivery = await api.emulator.agent.reply(cid, "Hello, Anna here")
    body = {
        "id": delivery.id,
        "channel": {"to": {"id": "user-1", "idType": "Opaque"}, "time": "2026-01-15T10:00:00Z"},
        "status": "Delivered",
        "isFinalReceipt": True,
    }
    path = "/api/v2/conversations/messages/integration-1/inbound/open/receipt"
    assert (await api.call("POST", path, body))[0] == 200
    [entry] = [e for e in api.emulator.agent.transcript(cid) if e.direction == "outbound"]
    assert [r["status"] for r in entry.receipts] == ["Delivered"]
