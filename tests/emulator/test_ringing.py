"""A conversation rings at an agent before they answer; user.start comes on the ring, like Genesys."""

from __future__ import annotations

from typing import Any

import pytest

from extension.testing.emulator import EmulatorConfig

from .conftest import Api

START = "v2.detail.events.conversation.{}.user.start"
END = "v2.detail.events.conversation.{}.user.end"


async def _post(api: Api, path: str, body: Any = None) -> tuple[int, Any]:
    async with api.client.post(path, json=body) as response:
        return response.status, await response.json()


def states(api: Api, cid: str) -> list[tuple[str, str]]:
    return [(p.purpose, p.state) for p in api.emulator.agent.get(cid).participants]


async def test_user_start_comes_when_it_rings_and_a_ring_can_time_out(api: Api) -> None:
    assert EmulatorConfig().user_start_on == "alerting"
    cid = (await api.inbound("I need help"))["conversationId"]

    status, detail = await _post(api, f"/emulator/conversations/{cid}/ring", {"agent": "Anna"})

    assert status == 200 and detail["state"] == "waiting" and detail["ringingAgent"] == "Anna"
    assert states(api, cid) == [("customer", "connected"), ("acd", "connected"), ("agent", "alerting")]
    [start] = api.emulator.published_events(START.format(cid))
    assert start.body["userId"] and start.body["participantId"] == api.emulator.agent.get(cid).participants[2].id
    status, conversation, _ = await api.call("GET", f"/api/v2/conversations/messages/{cid}")
    agent = conversation["participants"][2]
    assert (agent["purpose"], agent["state"]) == ("agent", "alerting") and "connectedTime" not in agent

    status, detail = await _post(api, f"/emulator/conversations/{cid}/ring-timeout")

    assert status == 200 and detail["state"] == "waiting" and detail["ringingAgent"] is None
    [end] = api.emulator.published_events(END.format(cid))
    assert end.body["disconnectType"] == "NO_ANSWER_TRANSFER"
    assert api.emulator.agent.get(cid).participants[2].disconnect_type == "transfer.noanswer"
    # Back in the queue: another agent can take it, and answering sends no second user.start.
    await api.emulator.agent.ring(cid, "Bob")
    await api.emulator.agent.accept(cid, "Bob")
    assert api.emulator.agent.get(cid).state == "active"
    assert len(api.emulator.published_events(START.format(cid))) == 2
    assert states(api, cid)[1:] == [("acd", "disconnected"), ("agent", "disconnected"), ("agent", "connected")]


async def test_the_old_behaviour_sends_user_start_on_accept(api: Api) -> None:
    api.emulator.config.user_start_on = "accept"
    cid = (await api.inbound("I need help"))["conversationId"]
    await api.emulator.agent.ring(cid, "Anna")
    assert api.emulator.published_events(START.format(cid)) == []
    await api.emulator.agent.accept(cid, "Anna")
    assert len(api.emulator.published_events(START.format(cid))) == 1


async def test_only_a_ringing_conversation_can_time_out_and_only_its_agent_answers(api: Api) -> None:
    cid = (await api.inbound("I need help"))["conversationId"]
    status, body = await _post(api, f"/emulator/conversations/{cid}/ring-timeout")
    assert status == 409 and "not ringing" in body["error"]
    await api.emulator.agent.ring(cid, "Anna")
    status, body = await _post(api, f"/emulator/conversations/{cid}/accept", {"agent": "Bob"})
    assert status == 409 and "rings at Anna" in body["error"]


def test_user_start_on_is_checked() -> None:
    with pytest.raises(ValueError, match="user_start_on"):
        EmulatorConfig(user_start_on="connected")
