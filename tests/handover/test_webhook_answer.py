"""The webhook answers without waiting on Genesys: integration ids not yet resolved, lookups held open."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from extension.flows.session import SessionKey
from extension.providers.genesys_om.webhook import INBOX
from extension.testing.emulator import Emulator
from extension.testing.emulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_INTEGRATION_ID,
    DEFAULT_WEBHOOK_SECRET,
)
from extension.testing.emulator.discovery import INTEGRATIONS_PATH

from stack import Stack, StackFactory, agent_message, genesys_user_id, post_signed, start_handover, texts
from support import eventually


class Hold:
    """Stands in for the emulator's fault delay: a slowed request stays open until released."""

    def __init__(self) -> None:
        self.released = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        await self.released.wait()


def held_lookups(emu: Emulator) -> list[Any]:
    """Integration listings the emulator received and has not answered yet."""
    return [r for r in emu.requests if r.path == INTEGRATIONS_PATH and r.status is None]


async def _second(make_stack: StackFactory, first: Stack, **kw: Any) -> Stack:
    return await make_stack(store="sqlite:///state.db", emulator=first.emu, **kw)



async def test_answered_while_the_integration_lookup_is_held_open(make_stack: StackFactory) -> None:
    first = await make_stack(store="sqlite:///state.db")
    cid = await start_handover(first)
    await first.emu.agent.accept(cid)
    await first.client.close()
    emu = first.emu
    hold = Hold()
    emu.faults.sleep = hold
    emu.faults.slow(INTEGRATIONS_PATH, seconds=60, method="GET")
    try:
        second = await _second(make_stack, first)
        await eventually(lambda: held_lookups(emu), "the restarted runtime looks its integration up")
        reply = await emu.agent.reply(cid, "while Genesys is slow")
        assert await asyncio.wait_for(reply.wait(), timeout=30) == "delivered"
        assert [a.status for a in reply.attempts] == [200]  # answered at the first try, no retry needed
        assert held_lookups(emu), "the lookup must still be open: the answer did not wait for it"
        assert texts(await second.events(), "agent") == ["while Genesys is slow"]
        assert second.integration_id() is None
        # A body naming an integration no configured secret signs is still refused.
        forged = agent_message(await genesys_user_id(second), "forged", message_id="m-forged")
        forged["channel"]["id"] = "another-integration"
        assert await post_signed(second, forged, secret="another-secret-0123456789") == (
            401, {"error": "invalid signature"})
        assert await post_signed(second, forged) != (401, {"error": "invalid signature"})  # the HMAC verifies
    finally:
        hold.released.set()
    await eventually(lambda: second.integration_id() == DEFAULT_INTEGRATION_ID, "the lookup finishes in the background")
    again = await emu.agent.reply(cid, "after the lookup")
    assert await asyncio.wait_for(again.wait(), timeout=30) == "delivered"
    await second.wait_for(lambda ev: texts(ev, "agent")[-1:] == ["after the lookup"])
    # Resolved now: the id in the body must be the connection's own.
    other = agent_message(await genesys_user_id(second), "unknown id", message_id="m-other")
    other["channel"]["id"] = "another-integration"
    assert await post_signed(second, other) == (401, {"error": "invalid signature"})
    assert "unknown id" not in texts(await second.events())


async def test_delivered_while_the_integration_lookup_fails(make_stack: StackFactory) -> None:
    first = await make_stack(store="sqlite:///state.db")
    cid = await start_handover(first)
    await first.emu.agent.accept(cid)
    await first.client.close()
    first.emu.faults.server_error(INTEGRATIONS_PATH, method="GET", times=None)
    second = await _second(make_stack, first)
    reply = await second.emu.agent.reply(cid, "Genesys listing is down")
    assert await asyncio.wait_for(reply.wait(), timeout=30) == "delivered"
    assert [a.status for a in reply.attempts] == [200]
    assert texts(await second.events(), "agent") == ["Genesys listing is down"]
    status, _ = await post_signed(second, agent_message(await genesys_user_id(second), "bad", message_id="m-bad"),
                                  secret="another-secret-0123456789")
    assert status == 401
    assert "bad" not in texts(await second.events())


SHARED = f"""
[connections.other]
type = "genesysCloudOM"
host = "{{host}}"
deploymentName = "BotHandover"
queue = "Support"
webhookSecret = "{DEFAULT_WEBHOOK_SECRET}"
clientId = "{DEFAULT_CLIENT_ID}"
clientSecret = "{DEFAULT_CLIENT_SECRET}"
"""


async def test_a_secret_shared_by_unresolved_connections_is_delivered_to_the_owner(make_stack: StackFactory) -> None:
    first = await make_stack(store="sqlite:///state.db")
    cid = await start_handover(first)
    await first.emu.agent.accept(cid)
    to_id = await genesys_user_id(first)
    await first.client.close()
    emu = first.emu
    hold = Hold()
    emu.faults.sleep = hold
    emu.faults.slow(INTEGRATIONS_PATH, seconds=60, method="GET")
    try:
        second = await _second(make_stack, first, extra=SHARED.format(host=emu.base_url))
        body = agent_message(to_id, "which tenant?", message_id="m-shared")
        # No integration id is resolved yet, but the secret authenticates the sender and the
        # recipient's handover names its connection: delivered at once, without waiting on Genesys.
        assert await post_signed(second, body) == (200, {"status": "delivered"})
        assert texts(await second.events(), "agent") == ["which tenant?"]
    finally:
        hold.released.set()
    await eventually(lambda: second.integration_id() == DEFAULT_INTEGRATION_ID, "the lookup finishes in the background")
    assert await post_signed(second, body) == (200, {"status": "duplicate"})
    assert texts(await second.events(), "agent") == ["which tenant?"]


KEY = SessionKey("support-bot", "u1", "s1").id


async def inbox(stack: Stack) -> dict[str, str]:
    return dict(await stack.store.index_items(INBOX))


async def inbox_empties(stack: Stack) -> None:
    async def empty() -> bool:
        return not await inbox(stack)

    await eventually(empty, "the stored webhooks all handled (the inbox empty)")


async def test_a_webhook_is_answered_while_a_cancel_holds_the_session(make_stack: StackFactory) -> None:
    stack = await make_stack(extra="webhook_wait_seconds = 0.1\n")
    cid = await start_handover(stack)
    hold = Hold()
    stack.emu.faults.sleep = hold
    stack.emu.faults.slow(f"/api/v2/conversations/messages/{cid}", seconds=60, method="GET")
    cancel = asyncio.create_task(stack.say(data={"payload": "cancel"}))
    try:
        await eventually(lambda: [r for r in stack.emu.requests if r.path.endswith(cid) and r.status is None],
                         "the cancel's Genesys call is open")
        notice = await stack.emu.agent.flow_message(cid, "Connected")
        assert await asyncio.wait_for(notice.wait(), timeout=30) == "delivered"
        assert [a.status for a in notice.attempts] == [200]
        # Answered before the cancel committed, so while the cancel still held the session.
        assert await stack.handover_statuses() == ["queue"]
        assert list(await inbox(stack)) == [f"support:{notice.id}"]
    finally:
        hold.released.set()
    await cancel
    # The handover was cancelled first: the stored message of the just-ended conversation still
    # reaches the user (it was written before the end) and is receipted Delivered.
    await eventually(lambda: any(r.path.endswith("/inbound/open/receipt") and r.json["id"] == notice.id
                                 and r.json["status"] == "Delivered" for r in stack.emu.requests),
                     "a Delivered receipt")
    await inbox_empties(stack)
    assert texts(await stack.events()).count("Connected") == 1


async def test_a_message_for_a_busy_session_is_stored_then_delivered_once(make_stack: StackFactory) -> None:
    stack = await make_stack(extra="webhook_wait_seconds = 0.1\n")
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    async with stack.store.lock(KEY):
        reply = await stack.emu.agent.reply(cid, "while busy")
        assert await asyncio.wait_for(reply.wait(), timeout=30) == "delivered"
        assert [a.status for a in reply.attempts] == [200]
        assert "while busy" not in texts(await stack.events())
        assert json.loads((await inbox(stack))[f"support:{reply.id}"])["body"]["text"] == "while busy"
        again = stack.emu.faults.redeliver_webhook(reply.id)
        assert await asyncio.wait_for(again.wait(), timeout=30) == "delivered"
    await stack.wait_for(lambda ev: "while busy" in texts(ev, "agent"))
    await inbox_empties(stack)
    await stack.emu.settle()
    assert texts(await stack.events(), "agent") == ["while busy"]


async def test_a_stored_message_survives_a_restart(make_stack: StackFactory) -> None:
    first = await make_stack(store="sqlite:///state.db", extra="webhook_wait_seconds = 0.1\n")
    cid = await start_handover(first)
    await first.emu.agent.accept(cid)
    async with first.store.lock(KEY):
        reply = await first.emu.agent.reply(cid, "answered, then the process died")
        assert await asyncio.wait_for(reply.wait(), timeout=30) == "delivered"
        assert [a.status for a in reply.attempts] == [200]
        await first.client.close()  # the process goes away before the session frees
    second = await _second(make_stack, first)
    await second.wait_for(lambda ev: "answered, then the process died" in texts(ev, "agent"))
    await inbox_empties(second)
    assert len(reply.attempts) == 1  # Genesys never had to send it again
