"""End detection under trouble: socket drops, socket_closing, silence, expiry; resolve timing."""

from __future__ import annotations

from typing import Any

import pytest

from extension.testing.clock import ManualClock
from handover.helpers import with_handover_config

from stack import Stack, StackFactory, past_the_debounce, start_handover, texts
from support import eventually, eventually_advancing


def channel_creations(stack: Stack) -> int:
    return len([r for r in stack.emu.requests if r.method == "POST" and r.path == "/api/v2/notifications/channels"])


async def resubscribed(stack: Stack, cid: str, creations_before: int) -> None:
    await eventually(lambda: channel_creations(stack) > creations_before, "a new channel created")
    assert channel_creations(stack) > creations_before, "no new channel was created"

    def subscribed_again() -> bool:
        subs = [r for r in stack.emu.requests if r.path.endswith("/subscriptions") and r.status == 200]
        return bool(subs) and cid in str(subs[-1].json)

    await eventually(subscribed_again, "the conversation subscribed again")


async def end_and_expect_completion(stack: Stack, cid: str) -> None:
    await stack.emu.agent.end(cid)
    events = await stack.wait_status("completed")
    assert texts(events)[-1] == "Back with the bot."


async def test_socket_dropped_reconnects_and_resubscribes(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    before = channel_creations(stack)
    assert await stack.emu.faults.close_notification_sockets() >= 1
    await resubscribed(stack, cid, before)
    await end_and_expect_completion(stack, cid)


async def test_socket_closing_frame_reconnects(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    before = channel_creations(stack)
    assert await stack.emu.faults.socket_closing() >= 1
    await resubscribed(stack, cid, before)
    await stack.emu.agent.accept(cid)
    await end_and_expect_completion(stack, cid)


async def test_expired_channel_is_replaced(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    before = channel_creations(stack)
    assert await stack.emu.faults.expire_channel() >= 1
    await resubscribed(stack, cid, before)
    await stack.emu.agent.accept(cid)
    await end_and_expect_completion(stack, cid)


async def test_missing_heartbeats_trigger_a_reconnect(make_stack: StackFactory) -> None:
    from extension.testing.emulator import Emulator, EmulatorConfig

    # Heartbeats every 60 s, watchdog at 0.5 s (see `extra`): the runtime must give up on the silence.
    emu = Emulator(EmulatorConfig(webhook_retry_delay=0.05, heartbeat_interval=60))
    stack = await make_stack(emulator=emu, extra="", watchdog=0.5)
    cid = await start_handover(stack)
    before = channel_creations(stack)
    await resubscribed(stack, cid, before)


async def test_missed_end_is_caught_by_the_running_reconciler(make_stack: StackFactory) -> None:
    stack = await make_stack(reconcile_interval=0.1)
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    stack.emu.faults.drop_notifications(10)
    await stack.emu.agent.end(cid)
    events = await stack.wait_status("completed")
    assert texts(events)[-1] == "Back with the bot."
    assert stack.reconciler_checks >= 1


async def test_without_resolve_event_the_flow_resumes_at_the_next_input(make_stack: StackFactory) -> None:
    stack = await make_stack(flow=with_handover_config(sendResolveEvent=False))
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    await stack.emu.agent.end(cid)
    events = await stack.wait_status("completed")
    assert "Back with the bot." not in texts(events)
    answer = await stack.say("anyone?")
    assert [o["text"] for o in answer["outputStack"]] == ["Back with the bot."]
    answer = await stack.say("and now")
    assert [o["text"] for o in answer["outputStack"]] == ["echo: and now"]


async def test_customer_end_from_genesys_ends_the_handover(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    await stack.emu.agent.customer_end(cid)
    await stack.wait_status("completed")


async def test_whole_handover_over_the_websocket(make_stack: StackFactory) -> None:
    stack = await make_stack()
    ws = await stack.client.ws_connect("/support-bot/socket", params={"userId": "u1", "sessionId": "s1"})

    async def next_event(pred: Any) -> dict[str, Any]:
        while True:
            event = await ws.receive_json(timeout=10)
            if pred(event):
                return dict(event)

    await ws.send_json({"type": "message", "text": "hello"})
    assert (await next_event(lambda e: e["type"] == "output"))["text"] == "Hi, I am the bot."
    await ws.send_json({"type": "message", "text": "agent"})
    await next_event(lambda e: e["type"] == "handover" and e["status"] == "queue")
    cid = await stack.conversation_id()
    await stack.subscribed(cid)
    await stack.emu.agent.accept(cid)
    await next_event(lambda e: e["type"] == "handover" and e["status"] == "active")
    await stack.emu.agent.reply(cid, "Anna here")
    assert (await next_event(lambda e: e["type"] == "output"))["source"] == "agent"
    await ws.send_json({"type": "message", "text": "thanks Anna"})
    await eventually(lambda: any(m.text == "thanks Anna" for m in stack.emu.inbound_messages(cid)),
                     "'thanks Anna' sent to the agent")
    await stack.emu.agent.end(cid)
    await next_event(lambda e: e["type"] == "handover" and e["status"] == "completed")
    assert (await next_event(lambda e: e["type"] == "output"))["text"] == "Back with the bot."
    await ws.close()


async def test_profile_is_sent_when_send_profile_is_on(make_stack: StackFactory) -> None:
    stack = await make_stack(connection_extra="sendProfile = true")
    await stack.say(None, {"profile": {"firstName": "Jane", "lastName": "Doe", "email": "jane@example.com"}})
    await stack.say("agent")
    first = next(r for r in stack.emu.requests if r.path.endswith("/inbound/open/message"))
    sender = first.json["channel"]["from"]
    assert sender["firstName"] == "Jane" and sender["lastName"] == "Doe" and sender["email"] == "jane@example.com"
    assert sender["id"].startswith("h-") and sender["idType"] == "Opaque"


async def test_profile_is_not_sent_by_default(make_stack: StackFactory) -> None:
    stack = await make_stack()
    await stack.say(None, {"profile": {"firstName": "Jane"}})
    await stack.say("agent")
    first = next(r for r in stack.emu.requests if r.path.endswith("/inbound/open/message"))
    assert "firstName" not in first.json["channel"]["from"]


async def test_each_handover_gets_a_fresh_genesys_user(make_stack: StackFactory) -> None:
    stack = await make_stack()
    first_cid = await start_handover(stack)
    await stack.emu.agent.accept(first_cid)
    await stack.emu.agent.end(first_cid)
    await stack.wait_status("completed")
    await stack.say("agent again")
    ids = {r.json["channel"]["from"]["id"] for r in stack.emu.requests if r.path.endswith("/inbound/open/message")}
    assert len(ids) == 2
    assert len({c.id for c in stack.emu.agent.conversations()}) == 2


def test_long_transcripts_are_split_under_4000_characters() -> None:
    from extension.providers.genesys_om.transcript import transcript_messages

    entries = [{"role": "user" if i % 2 else "bot", "text": f"message {i} " + "x" * 300, "time": 0}
               for i in range(40)]
    entries.append({"role": "user", "text": "y" * 9000, "time": 0})
    messages = transcript_messages(entries)
    assert len(messages) > 3 and all(len(m) <= 4000 for m in messages)
    joined = "".join(messages)
    assert "message 39" in joined and joined.count("y") == 9000


async def test_channel_is_renewed_before_it_expires(make_stack: StackFactory) -> None:
    from extension.testing.emulator import Emulator, EmulatorConfig

    # Channels live 60 s and the runtime renews 58 s before expiry: the renewal is due after 2 s on
    # the clock the runtime and the emulator share, which the test moves on.
    clock = ManualClock()
    emu = Emulator(EmulatorConfig(webhook_retry_delay=0.05, heartbeat_interval=0.5, channel_lifetime=60.0),
                   clock=clock.time)
    stack = await make_stack(emulator=emu, extra="channel_renew_seconds = 58.0\n", clock=clock)
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    old = next(c for c in emu.notifications.channels.values() if any(cid in t for t in c.topics))

    def renewal() -> tuple[Any, Any] | None:
        created = [r for r in emu.requests if r.method == "POST" and r.path == "/api/v2/notifications/channels"
                   and r.time >= old.created and r.status == 200]
        subscribed = [r for r in emu.requests if r.path.endswith("/subscriptions") and r.status == 200
                      and r.time >= old.created and old.id not in r.path and cid in str(r.json)]
        return (created[-1], subscribed[0]) if created and subscribed else None

    await clock.advance(1.9)
    assert renewal() is None, "renewed before it was due"
    await clock.advance(0.1)
    found = await eventually(renewal, "the next channel created and subscribed")
    assert old.connected  # the old channel is still read for the overlap
    await eventually_advancing(clock, lambda: not old.connected, "the old channel left after the overlap")
    created, subscribed = found
    assert created.time == pytest.approx(old.created + 2.0, abs=0.01), "not renewed when due"
    assert created.time <= subscribed.time < old.expires_at
    new_id = subscribed.path.split("/")[-2]
    assert emu.notifications.channels[new_id].connected
    assert not old.connected  # the runtime left the old channel for the new one

    await stack.emu.agent.end(cid)
    await past_the_debounce(stack, cid)
    await stack.wait_status("completed")
    # The end came over a renewed channel, not through a reconcile after a lost event.
    ended = emu.published_events(f"v2.detail.events.conversation.{cid}.user.end")[-1]
    assert ended.delivered_to and old.id not in ended.delivered_to
