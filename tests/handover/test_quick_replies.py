"""A quick reply an agent offered goes back to Genesys as the choice it is (a structured response)."""

from __future__ import annotations

from stack import StackFactory, eventually_inbound, start_handover, texts


async def test_a_chosen_agent_quick_reply_reaches_genesys_with_its_payload(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    await stack.emu.agent.reply(cid, "Shall I refund you?", quick_replies=["Yes please", "No"])
    events = await stack.wait_for(lambda ev: "Shall I refund you?" in texts(ev, "agent"))
    offer = next(e for e in events if e.get("text") == "Shall I refund you?")
    assert offer["data"]["quickReplies"][0] == {"title": "Yes please", "payload": "Yes please"}
    await stack.say("Yes please", {"quickReply": {"payload": "Yes please", "messageId": offer["id"]}})
    [choice] = await eventually_inbound(stack, cid, lambda e: e.type == "Structured")
    assert choice.text == "Yes please"
    sent = choice.body
    assert sent["buttonResponse"] == {"type": "QuickReply", "text": "Yes please", "payload": "Yes please"}
    assert sent["originatingMessageId"] == offer["id"]
    assert sent["channel"]["messageId"]  # stable across retries, like every user message


async def test_a_choice_no_agent_message_offered_goes_as_text(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    # No agent message offered this (a bot's quick reply, or a forged id): plain text, never refused.
    await stack.say("Maybe", {"quickReply": {"payload": "maybe", "messageId": "not-an-agent-message"}})
    [text] = await eventually_inbound(stack, cid, lambda e: e.text == "Maybe")
    assert text.type == "Text"
    assert not [e for e in stack.emu.inbound_messages(cid) if e.type == "Structured"]
