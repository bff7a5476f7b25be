"""Genesys down while a handover is active: the delayed-delivery notice, and the outbox across a restart."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import pytest

from extension.providers.genesys_om.outbox import DELAY_NOTICE

from .helpers import changed_setting
from .ledger import Ledger
from stack import Stack, StackFactory, start_handover, texts, wait_inbound
from support import eventually

INBOUND = "/api/v2/conversations/messages/*/inbound/open/message"
THRESHOLD = 0.5  # delivery_notice_seconds in the shared test settings


def notices(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("type") == "output" and e.get("source") == "system"]


def at(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()


async def delivered(stack: Stack, cid: str, users: list[str]) -> None:
    await wait_inbound(stack, cid, users)
    await asyncio.sleep(0.1)  # a short look for a late notice or a duplicate: one would show now
    assert [m.text for m in stack.emu.inbound_messages(cid) if m.text in users] == users


async def test_a_delay_below_the_threshold_gives_no_notice(make_stack: StackFactory, ledger: Ledger,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # A notice after 3 s: one 503 and its retry (under 1 s of backoff) stay well below it.
    monkeypatch.setattr("stack.HANDOVER_SETTINGS", changed_setting(
        f"delivery_notice_seconds = {THRESHOLD}", "delivery_notice_seconds = 3"))
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    users = ["short outage 0", "short outage 1"]
    rule = stack.emu.faults.server_error(INBOUND, times=1)
    for text in users:
        await stack.say(text)
    await delivered(stack, cid, users)
    assert rule.hits == 1
    assert notices(await stack.events()) == []
    ledger.record("Genesys down shorter than the notice time", "1 x 503 on inbound messages (notice after 3 s)",
                  user=(len(users), 0, 0))


async def test_the_notice_comes_once_per_outage_and_only_after_the_threshold(
        make_stack: StackFactory, ledger: Ledger) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    first, second = [f"first outage {i}" for i in range(3)], [f"second outage {i}" for i in range(2)]
    rule = stack.emu.faults.server_error(INBOUND, times=None)
    queued = time.time()  # no earlier than the first message entered the outbox
    for text in first:
        await stack.say(text)
    events = await stack.wait_for(lambda ev: bool(notices(ev)))
    failed = [r for r in stack.emu.requests.matching(INBOUND) if r.status == 503]
    assert failed and rule.hits >= 1
    [notice] = notices(events)
    assert notice["text"] == DELAY_NOTICE
    # The first message waited at least the threshold before the user was told (a lower bound the
    # runtime guarantees; event times have millisecond precision).
    assert at(notice) >= queued + THRESHOLD - 0.002
    hits = rule.hits
    await eventually(lambda: rule.hits >= hits + 2, "more failed retries of the same outage")
    assert len(notices(await stack.events())) == 1  # still a single notice
    stack.emu.faults.clear()
    await delivered(stack, cid, first)
    await stack.emu.agent.reply(cid, "between the outages")
    await stack.wait_for(lambda ev: "between the outages" in texts(ev, "agent"))
    rule = stack.emu.faults.server_error(INBOUND, times=None)
    for text in second:
        await stack.say(text)
    events = await stack.wait_for(lambda ev: len(notices(ev)) == 2)
    stack.emu.faults.clear()
    await delivered(stack, cid, second)
    events = await stack.events()
    between = next(e for e in events if e.get("text") == "between the outages")
    one, two = notices(events)
    assert one["seq"] < between["seq"] < two["seq"]  # one notice per outage, each in its own outage
    assert two["text"] == DELAY_NOTICE and rule.hits >= 1
    ledger.record("Genesys down twice, each longer than the notice time",
                  "503 on inbound messages until cleared, twice",
                  user=(len(first) + len(second), 0, 0), agent=(1, 0, 0))


async def test_user_messages_survive_an_outage_and_a_restart_in_order(make_stack: StackFactory,
                                                                      ledger: Ledger) -> None:
    first = await make_stack(store="sqlite:///state.db")
    cid = await start_handover(first)
    await first.emu.agent.accept(cid)
    rule = first.emu.faults.server_error(INBOUND, times=None)
    users = [f"before the restart {i}" for i in range(4)]
    for text in users:
        await first.say(text)
    await first.wait_for(lambda ev: bool(notices(ev)))
    await first.client.close()  # the process goes away with the messages still waiting
    tried = rule.hits
    assert tried >= 1 and not [m for m in first.emu.inbound_messages(cid) if m.text in users]

    second = await make_stack(store="sqlite:///state.db", emulator=first.emu)
    # The restarted runtime picks the outbox up and keeps trying.
    await eventually(lambda: rule.hits > tried, "the restarted runtime trying the outbox again")
    assert rule.hits > tried
    second.emu.faults.clear()
    await second.say("after the restart")
    await delivered(second, cid, [*users, "after the restart"])
    ids = [m.message_id for m in second.emu.inbound_messages(cid) if m.text in users]
    assert len(set(ids)) == len(users)
    assert len(notices(await second.events())) == 1
    ledger.record("Genesys down, then the runtime restarted (SQLite)", "503 on inbound messages, restart mid-outage",
                  user=(len(users) + 1, 0, 0))
