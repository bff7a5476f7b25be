"""A session deleted by its user or expired while idle: its handover ends in Genesys first (docs/CONTRACT.md 6.4)."""

from __future__ import annotations

from typing import Any

from extension import keys
from extension.providers.genesys_om.state import BY_CONVERSATION, BY_USER
from extension.testing.clock import ManualClock
from handover.helpers import NO_SWEEPER, delete

from stack import Stack, StackFactory, start_handover
from support import eventually_advancing, while_advancing


def patches(stack: Stack, cid: str) -> list[Any]:
    return [r for r in stack.emu.requests if r.method == "PATCH" and cid in r.path and r.status < 300]




async def indexes(stack: Stack) -> tuple[dict[str, str], dict[str, str]]:
    store = stack.client.app[keys.STORE]
    return await store.index_items(BY_CONVERSATION), await store.index_items(BY_USER)


async def test_deleting_a_session_in_handover_disconnects_the_customer(make_stack: StackFactory) -> None:
    stack = await make_stack(store_extra=NO_SWEEPER)
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    assert cid in (await indexes(stack))[0]

    assert await delete(stack) == (204, None)

    assert [r.json for r in patches(stack, cid)] == [{"state": "disconnected"}]
    assert stack.emu.agent.get(cid).state == "ended"
    assert await stack.events() == []
    assert await indexes(stack) == ({}, {})
    assert cid not in stack.watched()
    metrics = stack.client.app[keys.METRICS]
    assert metrics.sessions_ended.get(reason="deleted") == 1
    assert metrics.handovers.get(status="session_ended") == 1
    # The same ids start a new session with the bot, from seq 1.
    answer = await stack.say("hello")
    assert answer["outputStack"][0]["text"] == "Hi, I am the bot."
    assert [e["seq"] for e in await stack.events()] == [1]
    # Deleting again: nothing there any more.
    assert (await delete(stack, session="s1"))[0] == 204
    assert await delete(stack) == (404, {"error": "no such session"})


async def test_a_session_without_handover_is_deleted_without_calling_genesys(make_stack: StackFactory) -> None:
    stack = await make_stack(store_extra=NO_SWEEPER)
    await stack.say("hello")
    assert await delete(stack) == (204, None)
    assert await stack.events() == []
    assert [r.path for r in stack.emu.requests if "/conversations/messages/" in r.path] == []


async def test_genesys_refusing_the_disconnect_keeps_the_session_whole(make_stack: StackFactory) -> None:
    clock = ManualClock()  # the client's retry pauses pass as the test advances it
    stack = await make_stack(store_extra=NO_SWEEPER, clock=clock)
    cid = await start_handover(stack)
    events_before = await stack.events()
    stack.emu.faults.server_error(path="/api/v2/conversations/messages/*", status=503, times=None)

    status, body = await while_advancing(clock, delete(stack))

    assert status == 502
    assert body is not None and "could not be ended" in body["error"] and "503" in body["error"]
    assert await stack.events() == events_before
    assert cid in (await indexes(stack))[0]
    assert stack.emu.agent.get(cid).state != "ended"
    # Genesys back: the agent's messages still reach the user, then the delete goes through.
    stack.emu.faults.clear()
    await stack.emu.agent.accept(cid)
    await stack.emu.agent.reply(cid, "still here")
    await stack.wait_for(lambda ev: any(e.get("text") == "still here" for e in ev))
    assert await delete(stack) == (204, None)
    assert stack.emu.agent.get(cid).state == "ended"


async def test_a_conversation_genesys_no_longer_has_does_not_keep_the_session(make_stack: StackFactory) -> None:
    stack = await make_stack(store_extra=NO_SWEEPER)
    cid = await start_handover(stack)
    stack.emu.faults.not_found(path=f"/api/v2/conversations/messages/{cid}", method="GET")
    assert await delete(stack) == (204, None)
    assert patches(stack, cid) == []
    assert await indexes(stack) == ({}, {})


async def test_only_idle_sessions_expire_and_their_handover_ends(make_stack: StackFactory) -> None:
    clock = ManualClock()  # a session's idle age is on the runtime's clock
    stack = await make_stack(store_extra=NO_SWEEPER, clock=clock)
    cid = await start_handover(stack, user="idle")
    await stack.say("hello", user="busy")
    sessions = stack.client.app[keys.SESSIONS]
    await clock.advance(0.3)
    await stack.say("still talking", user="busy")

    assert await sessions.expire_idle(0.2) == 1

    assert await stack.events(user="idle") == []
    assert len(await stack.events(user="busy")) == 2
    assert [r.json for r in patches(stack, cid)] == [{"state": "disconnected"}]
    assert await indexes(stack) == ({}, {})
    assert stack.client.app[keys.METRICS].sessions_ended.get(reason="expired") == 1
    assert await sessions.expire_idle(0.2) == 0


async def test_the_sweeper_expires_idle_sessions_by_itself(make_stack: StackFactory) -> None:
    clock = ManualClock()
    stack = await make_stack(store_extra="session_idle_seconds = 0.5", clock=clock)
    cid = await start_handover(stack)
    await clock.advance(0.4)
    assert stack.emu.agent.get(cid).state != "ended" and await stack.events() != []  # not idle long enough
    await eventually_advancing(clock, lambda: stack.emu.agent.get(cid).state == "ended",
                               "the idle session expired", step=0.125)
    assert clock.monotonic() <= 0.4 + 0.125 * 3  # one sweep interval (idle / 4) after it became idle, or so
    assert await stack.events() == []
    assert len(patches(stack, cid)) == 1


async def test_delete_route_refuses_bad_input(make_stack: StackFactory) -> None:
    stack = await make_stack(store_extra=NO_SWEEPER)
    await stack.say("hello")
    resp = await stack.client.delete(f"/{stack.token}/session", params={"sessionId": "s1"})
    assert resp.status == 400 and await resp.json() == {"error": "userId is required"}
    resp = await stack.client.delete("/nobody/session", params={"userId": "u1", "sessionId": "s1"})
    assert resp.status == 404 and await resp.json() == {"error": "unknown endpoint"}
    assert (await delete(stack, session="other"))[0] == 404
    assert len(await stack.events()) == 1
