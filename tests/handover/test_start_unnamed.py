"""A start whose first message created a conversation Genesys never named is continued, not orphaned."""

from __future__ import annotations

from extension.flows.session import SessionKey
from extension.providers.genesys_om.state import STARTING
from extension.testing.clock import ManualClock
from extension.testing.emulator.state import Conversation
from handover.helpers import INBOUND, when_created

from stack import Stack, StackFactory
from support import while_advancing


def lose_the_answer(stack: Stack, created: list[Conversation]) -> None:
    """The first inbound message creates the conversation, but no answer naming it ever comes back."""

    def callback(conversation: Conversation) -> None:
        created.append(conversation)
        stack.emu.faults.server_error(INBOUND, times=None)
        raise RuntimeError("the answer is lost")  # this request gets a 500, the retries 503s

    when_created(stack, callback)


async def test_the_next_handover_continues_the_unnamed_conversation(make_stack: StackFactory) -> None:
    clock = ManualClock()  # the client's retry pauses pass as the test advances it
    stack = await make_stack(clock=clock)
    created: list[Conversation] = []
    lose_the_answer(stack, created)
    await stack.say("hello")
    answer = await while_advancing(clock, stack.say("agent please"))
    assert [o["text"] for o in answer["outputStack"]] == ["No agent: error"]
    [orphan] = created
    store = stack.store
    assert list(await store.index_items(STARTING)) == [orphan.customer_id]
    # Recovery cannot name the conversation, so it keeps the record for the next handover.
    await stack.reconcile_upkeep()
    assert list(await store.index_items(STARTING)) == [orphan.customer_id]

    stack.emu.faults.clear()
    answer = await stack.say("agent please")
    assert await stack.handover_statuses() == ["error", "queue"]
    doc = await store.get_session(SessionKey(stack.token, "u1", "s1").id)
    assert doc is not None
    assert doc["handover"]["genesys_user_id"] == orphan.customer_id
    assert doc["handover"]["conversation_id"] == orphan.id
    assert [c.id for c in stack.emu.agent.conversations()] == [orphan.id]
    assert await store.index_items(STARTING) == {}


async def test_a_refused_first_message_leaves_no_record(make_stack: StackFactory) -> None:
    stack = await make_stack()
    stack.emu.faults.not_found(INBOUND, times=None)
    await stack.say("hello")
    answer = await stack.say("agent please")
    assert [o["text"] for o in answer["outputStack"]] == ["No agent: error"]
    assert await stack.store.index_items(STARTING) == {}
    assert stack.emu.agent.conversations() == []
