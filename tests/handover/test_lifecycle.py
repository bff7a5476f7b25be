"""Every path of a handover, end to end: public routes on one side, the emulator on the other."""

from __future__ import annotations

import asyncio
from typing import Any

from extension.flows.session import SessionKey
from extension.testing.clock import ManualClock
from handover.helpers import LONG, hold_inbound, when_created, with_handover_config

from stack import (
    Stack,
    StackFactory,
    past_the_debounce,
    read_by_the_runtime,
    start_handover,
    texts,
    wait_inbound,
)
from support import eventually, while_advancing


async def test_completed_by_the_agent(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    assert await stack.handover_statuses() == ["queue"]
    # The first inbound message carries the transcript and the custom attributes.
    first = stack.emu.inbound_messages(cid)[0]
    assert "Customer: hello" in (first.text or "") and "Bot: Hi, I am the bot." in (first.text or "")
    attrs = _first_attributes(stack)
    assert attrs["tier"] == "gold" and attrs["userId"] == "u1" and attrs["sessionId"] == "s1"
    assert attrs["urlToken"] == "support-bot" and attrs["queue"] == "Support" and attrs["skills"] == "en,billing"
    assert attrs["priority"] == "5" and attrs["language"] == "en-GB" and attrs["queueId"]

    await stack.emu.agent.accept(cid)
    await stack.emu.agent.reply(cid, "Hi, this is Anna.")
    events = await stack.wait_for(lambda ev: "Hi, this is Anna." in texts(ev, "agent"))
    assert [e["status"] for e in events if e["type"] == "handover"] == ["queue", "active"]

    # During the handover the flow does not run: user messages go to the agent, in order.
    for text in ("one", "two", "three"):
        answer = await stack.say(text)
        assert answer["outputStack"] == []
    await wait_inbound(stack, cid, ["one", "two", "three"])
    ids = [m.message_id for m in stack.emu.inbound_messages(cid)]
    assert len(set(ids)) == len(ids)

    await stack.emu.agent.end(cid)
    events = await stack.wait_status("completed")
    assert texts(events)[-1] == "Back with the bot."
    answer = await stack.say("hello bot")
    assert answer["outputStack"][0]["text"] == "echo: hello bot"


def _first_attributes(stack: Stack) -> dict[str, str]:
    first = next(r for r in stack.emu.requests if r.path.endswith("/inbound/open/message"))
    assert first.query.get("prefetchConversationId") == "true"
    return dict(first.json["channel"]["metadata"]["customAttributes"])


async def test_cancelled_while_queued_disconnects_the_customer(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    answer = await stack.say(None, {"payload": "cancel"})
    assert answer["outputStack"][-1]["text"] == "Handover cancelled."
    assert await stack.handover_statuses() == ["queue", "cancelled"]
    patches = [r for r in stack.emu.requests if r.method == "PATCH" and cid in r.path]
    assert len(patches) == 1 and patches[0].json == {"state": "disconnected"}
    assert stack.emu.agent.get(cid).state == "ended"


async def test_cancel_text_is_case_insensitive(make_stack: StackFactory) -> None:
    stack = await make_stack()
    await start_handover(stack)
    answer = await stack.say("  CANCEL ")
    assert answer["outputStack"][-1]["text"] == "Handover cancelled."


async def test_active_event_resumes_the_flow(make_stack: StackFactory) -> None:
    flow = with_handover_config(sendActiveEvent=True)
    stack = await make_stack(flow=flow)
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    events = await stack.wait_for(lambda ev: "An agent joined." in texts(ev, "bot"))
    assert "active" in [e["status"] for e in events if e["type"] == "handover"]
    await stack.emu.agent.reply(cid, "hello from Anna")
    await stack.wait_for(lambda ev: "hello from Anna" in texts(ev, "agent"))


async def test_queue_event_resumes_the_flow_at_once(make_stack: StackFactory) -> None:
    stack = await make_stack(flow=with_handover_config(sendQueueEvent=True))
    await stack.say("hello")
    answer = await stack.say("agent please")
    assert [o["text"] for o in answer["outputStack"]] == ["You are being connected to an agent.",
                                                         "You are in the queue."]


async def test_transfer_does_not_end_the_handover(make_stack: StackFactory) -> None:
    clock = ManualClock()
    stack = await make_stack(clock=clock)
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid, "Anna")
    async with read_by_the_runtime(stack, cid):
        await stack.emu.agent.transfer(cid, "Bob")
    await clock.advance(0.6)  # longer than the compressed ACW debounce
    assert "completed" not in await stack.handover_statuses()
    await stack.emu.agent.reply(cid, "Bob here")
    await stack.wait_for(lambda ev: "Bob here" in texts(ev, "agent"))
    await stack.emu.agent.end(cid)
    await past_the_debounce(stack, cid)
    await stack.wait_status("completed")


async def _after_connect_check(stack: Stack) -> None:
    """Wait out the check of every handover that the first notifications connect runs."""
    await stack.notifications_connected()
    await asyncio.gather(*[t for t in asyncio.all_tasks() if t.get_name() == "reconcile-after-reconnect"])


async def test_missed_user_end_is_ended_by_the_reconciler(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await _after_connect_check(stack)  # else it may be what ends the handover below
    await stack.emu.agent.accept(cid)
    stack.emu.faults.drop_notifications(10)
    await stack.emu.agent.end(cid)
    await stack.emu.agent.customer_end(cid) if stack.emu.agent.get(cid).state != "ended" else None
    await asyncio.sleep(0.5)
    assert "completed" not in await stack.handover_statuses()
    ended = await stack.reconcile()
    assert ended == 1
    await stack.wait_status("completed")


async def test_http_end_event_with_key(make_stack: StackFactory) -> None:
    key = "end-handover-key-0123456789"
    clock = ManualClock()
    stack = await make_stack(connection_extra=f'endHandoverApiKey = "{key}"', clock=clock)
    cid = await start_handover(stack)
    body = {"conversationId": cid, "topic": f"v2.detail.events.conversation.{cid}.user.end",
            "disconnectType": "CLIENT"}
    resp = await stack.client.post("/handover/genesysCloudOM", json=body,
                                   headers={"Authorization": "Bearer wrong-key-0123456789"})
    assert resp.status == 401
    resp = await stack.client.post("/handover/genesysCloudOM", json=body)
    assert resp.status == 401  # neither key nor signature
    await clock.advance(0.5)  # past the debounce that an accepted event would have started
    assert "completed" not in await stack.handover_statuses()
    resp = await stack.client.post("/handover/genesysCloudOM", json=body, headers={"Authorization": f"Bearer {key}"})
    assert resp.status == 200
    await past_the_debounce(stack, cid)
    await stack.wait_status("completed")


async def test_eventbridge_envelope(make_stack: StackFactory) -> None:
    key = "end-handover-key-0123456789"
    stack = await make_stack(connection_extra=f'endHandoverApiKey = "{key}"')
    cid = await start_handover(stack)
    body = {"detail": {"topicName": f"v2.detail.events.conversation.{cid}.customer.end",
                       "eventBody": {"conversationId": cid, "disconnectType": "CLIENT"}}}
    resp = await stack.client.post("/handover/genesysCloudOM", json=body, headers={"Authorization": f"Bearer {key}"})
    assert resp.status == 200
    await stack.wait_status("completed")


async def test_genesys_down_at_start_resumes_with_error(make_stack: StackFactory) -> None:
    clock = ManualClock()  # the client's retry pauses pass as the test advances it
    stack = await make_stack(clock=clock)
    await stack.say("hello")
    stack.emu.faults.server_error(path="/api/v2/conversations/messages/*", status=503, times=None)
    answer = await while_advancing(clock, stack.say("agent"))
    assert [o["text"] for o in answer["outputStack"]] == ["No agent: error"]
    assert await stack.handover_statuses() == ["error"]
    stack.emu.faults.clear()
    assert (await stack.say("after"))["outputStack"][0]["text"] == "echo: after"


async def test_flags_off_means_unsupported(make_stack: StackFactory) -> None:
    stack = await make_stack(env={"FEATURE_ENABLE_GENESYS_CLOUD_OM": "false"})
    await stack.say("hello")
    answer = await stack.say("agent")
    assert [o["text"] for o in answer["outputStack"]] == ["No agent: unsupported"]
    assert stack.emu.inbound_messages() == []


async def test_typing_is_forwarded_at_most_every_five_seconds(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    ws = await stack.client.ws_connect("/support-bot/socket", params={"userId": "u1", "sessionId": "s1"})
    for _ in range(3):
        await ws.send_json({"type": "typing"})

    def forwarded() -> list[Any]:
        return [r for r in stack.emu.requests if r.path.endswith("/inbound/open/event")]

    await eventually(forwarded, "the first typing forwarded")
    await asyncio.sleep(0.1)  # a look for a second one, which must not come
    typing = forwarded()
    assert len(typing) == 1 and typing[0].json["events"] == [{"eventType": "Typing"}]
    await stack.emu.agent.accept(cid)
    await stack.emu.agent.typing(cid)
    await stack.wait_for(lambda ev: any(e["type"] == "typing" and e["source"] == "agent" for e in ev))
    await ws.close()




async def _end_unnoticed(stack: Stack, cid: str) -> None:
    """The agent and the customer leave, and no notification about it reaches the runtime."""
    stack.emu.faults.drop_notifications(10)
    await stack.emu.agent.accept(cid)
    await stack.emu.agent.end(cid)
    if stack.emu.agent.get(cid).state != "ended":
        await stack.emu.agent.customer_end(cid)


async def test_a_check_of_everything_checks_more_than_one_batch(make_stack: StackFactory) -> None:
    # Its own passes are off (not the leader): only the check asked for here runs.
    stack = await make_stack(extra="reconcile_batch = 2\n", reconcile_interval=0.05)
    stack.not_leader()
    cids = [await start_handover(stack, user=f"u{n}") for n in range(5)]
    await _after_connect_check(stack)
    for cid in cids:
        await _end_unnoticed(stack, cid)
    assert await stack.reconcile(everything=True) == 5
    for n in range(5):
        await stack.wait_status("completed", user=f"u{n}")


async def test_the_reconciler_prunes_user_ids_of_ended_handovers(make_stack: StackFactory) -> None:
    from extension.providers.genesys_om.state import BY_CONVERSATION, BY_USER

    stack = await make_stack()
    store = stack.store
    old_cid = await start_handover(stack)
    [old_user] = await store.index_items(BY_USER)
    await stack.say(None, {"payload": "cancel"})
    # A crash between the commit of the cancel and its clean-up leaves the entries behind.
    key = SessionKey("support-bot", "u1", "s1").id
    await store.index_set(BY_USER, old_user, key)
    await store.index_set(BY_CONVERSATION, old_cid, key)
    await stack.say("agent again")
    new_cid = await stack.conversation_id()
    [new_user] = set(await store.index_items(BY_USER)) - {old_user}
    await stack.reconcile_upkeep()
    await stack.reconcile(everything=True)
    # The cancelled handover's user id is kept while its late agent messages may still come.
    assert await store.index_items(BY_USER) == {old_user: key, new_user: key}
    assert await store.index_items(BY_CONVERSATION) == {new_cid: key}
    from extension.providers.genesys_om import state as handover_state
    doc = await store.get_session(key)
    doc["context"][handover_state.ENDED]["at"] -= handover_state.LATE_MESSAGE_SECONDS + 1
    await store.commit(key, doc, [])
    await stack.reconcile_upkeep()
    assert await store.index_items(BY_USER) == {new_user: key}
    # The live handover still delivers.
    await stack.emu.agent.accept(new_cid)
    await stack.emu.agent.reply(new_cid, "still here")
    await stack.wait_for(lambda ev: "still here" in texts(ev, "agent"))


async def test_pruning_leaves_a_start_in_progress_alone(make_stack: StackFactory) -> None:
    from extension.providers.genesys_om.state import BY_USER

    stack = await make_stack()
    pruning: list[asyncio.Task[int]] = []

    async def prune_now() -> None:
        if not pruning:  # while the start holds the session, its user id looks unused
            pruning.append(asyncio.get_running_loop().create_task(stack.prune_users()))
            await asyncio.sleep(0.05)

    when_created(stack, lambda _: hold_inbound(stack, prune_now))
    await stack.say(LONG)
    await stack.say("agent please")
    assert await pruning[0] == 0
    assert len(await stack.store.index_items(BY_USER)) == 1
    assert await stack.handover_statuses() == ["queue"]
