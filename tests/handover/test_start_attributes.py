"""The custom attributes of the first inbound message (docs/CONTRACT.md 6.1 step 3)."""

from __future__ import annotations

from typing import Any

from extension import keys

from stack import HANDOVER_FLOW, Stack, StackFactory, start_handover


def flow_with(config: dict[str, Any]) -> dict[str, Any]:
    nodes = [dict(n) for n in HANDOVER_FLOW["nodes"]]
    for n in nodes:
        if n["id"] == "handover":
            n["config"] = config
    return {"name": "attributes", "nodes": nodes}


def first_attributes(stack: Stack) -> dict[str, str]:
    first = next(r for r in stack.emu.requests if r.path.endswith("/inbound/open/message"))
    return dict(first.json["channel"]["metadata"]["customAttributes"])


async def test_unset_language_skills_and_priority_are_sent_empty(make_stack: StackFactory) -> None:
    stack = await make_stack(flow=flow_with({"cancelButtonText": "Cancel"}))
    cid = await start_handover(stack)
    attrs = first_attributes(stack)
    assert attrs["language"] == "" and attrs["skills"] == "" and attrs["priority"] == ""
    assert set(attrs) == {"userId", "sessionId", "urlToken", "queue", "queueId", "language", "skills", "priority"}
    # Genesys took them: the conversation carries them as participant data.
    assert stack.emu.agent.get(cid).attributes["language"] == ""


async def test_node_attributes_cannot_override_the_runtime_ones(make_stack: StackFactory) -> None:
    spoofed = {"tier": "gold", "userId": "someone-else", "sessionId": "s9", "urlToken": "other-bot",
               "queue": "VIP", "queueId": "q-vip", "language": "xx", "skills": "all", "priority": "1",
               "copilotUrl": "https://attacker.example/"}
    stack = await make_stack(flow=flow_with({"cancelButtonText": "Cancel", "customAttributes": spoofed,
                                             "priority": 2.5}))
    await start_handover(stack)
    attrs = first_attributes(stack)
    assert attrs["tier"] == "gold"
    assert (attrs["userId"], attrs["sessionId"], attrs["urlToken"]) == ("u1", "s1", "support-bot")
    assert attrs["queue"] == "Support" and attrs["queueId"] != "q-vip"
    assert (attrs["language"], attrs["skills"], attrs["priority"]) == ("", "", "2.5")
    assert "copilotUrl" not in attrs  # no copilotUrl configured on the endpoint


async def test_a_node_queue_that_got_past_validate_never_reaches_genesys(make_stack: StackFactory) -> None:
    # validate refuses `queue` on this endpoint's handoverToAgent (a Bot Connector field); even set
    # after loading, the Open Messaging handover sends the connection's queue and nothing else.
    stack = await make_stack(flow=flow_with({"cancelButtonText": "Cancel"}))
    node = stack.client.app[keys.SESSIONS].endpoint("support-bot").flow.node("handover")
    node.config["queue"] = "VIP"
    cid = await start_handover(stack)
    attrs = first_attributes(stack)
    assert attrs["queue"] == "Support" and "VIP" not in attrs.values()
    assert set(attrs) == {"userId", "sessionId", "urlToken", "queue", "queueId", "language", "skills", "priority"}
    assert stack.emu.agent.get(cid).queue_id == attrs["queueId"]
