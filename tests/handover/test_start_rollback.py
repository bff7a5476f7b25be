"""A start that fails once Genesys has created the conversation ends that conversation again."""

from __future__ import annotations

from extension.providers.genesys_om.state import BY_CONVERSATION, BY_USER, PENDING_DISCONNECT, STARTING
from extension.testing.clock import ManualClock
from extension.testing.emulator.state import Conversation
from handover.helpers import INBOUND, LONG, PARTICIPANT, when_created

from stack import Stack, StackFactory
from support import while_advancing


def fail_transcript(stack: Stack, created: list[Conversation]) -> None:
    """The first inbound message creates the conversation; every later one fails."""

    def callback(conversation: Conversation) -> None:
        created.append(conversation)
        stack.emu.faults.server_error(INBOUND, times=None)

    when_created(stack, callback)


async def records(stack: Stack) -> dict[str, dict[str, str]]:
    store = stack.store
    return {name: await store.index_items(name) for name in (BY_USER, BY_CONVERSATION, STARTING)}


async def test_a_failed_transcript_disconnects_the_new_conversation(make_stack: StackFactory) -> None:
    clock = ManualClock()  # the client's retry pauses pass as the test advances it
    stack = await make_stack(clock=clock)
    created: list[Conversation] = []
    fail_transcript(stack, created)
    await stack.say(LONG)
    answer = await while_advancing(clock, stack.say("agent please"))
    assert [o["text"] for o in answer["outputStack"]] == ["No agent: error"]
    assert await stack.handover_statuses() == ["error"]
    [conversation] = created
    assert conversation.customer.state == "disconnected"
    assert await records(stack) == {BY_USER: {}, BY_CONVERSATION: {}, STARTING: {}}


async def test_a_failed_disconnect_after_a_failed_start_is_retried(make_stack: StackFactory) -> None:
    clock = ManualClock()
    stack = await make_stack(clock=clock)
    created: list[Conversation] = []
    fail_transcript(stack, created)
    stack.emu.faults.server_error(PARTICIPANT, method="PATCH", times=None)
    await stack.say(LONG)
    answer = await while_advancing(clock, stack.say("agent please"))
    assert [o["text"] for o in answer["outputStack"]] == ["No agent: error"]
    [conversation] = created
    assert conversation.customer.state == "connected"
    store = stack.store
    assert await store.index_items(PENDING_DISCONNECT) == {conversation.id: "support"}
    assert await records(stack) == {BY_USER: {}, BY_CONVERSATION: {}, STARTING: {}}

    stack.emu.faults.clear()
    await stack.reconcile_upkeep()
    assert conversation.customer.state == "disconnected"
    assert await store.index_items(PENDING_DISCONNECT) == {}
