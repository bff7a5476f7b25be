"""Agent-message dedup beyond the session's recent ids, on every store: old replays, lost commits."""

from __future__ import annotations

import json
from typing import Any

from extension import keys
from extension.genesys.signature import sign
from extension.store import Store, StoreError
from extension.testing.emulator.config import DEFAULT_WEBHOOK_SECRET

from stack import WEBHOOK_URL as URL
from stack import StackFactory, agent_message, genesys_user_id, post_signed, start_handover, texts

NEWER = 150  # more than the 100 recent ids the session keeps



# `store_url` first: its clean-up must run after the stack (which writes to Redis) has stopped.
async def test_an_old_message_replayed_after_many_newer_is_not_delivered_again(
        store_url: str, make_stack: StackFactory) -> None:
    stack = await make_stack(store=store_url)
    await start_handover(stack)
    to_id = await genesys_user_id(stack)
    first = agent_message(to_id, "the first agent message", message_id="old-0")
    assert await post_signed(stack, first) == (200, {"status": "delivered"})
    for n in range(1, NEWER + 1):
        assert await post_signed(stack, agent_message(to_id, f"newer {n}", message_id=f"old-{n}")) \
            == (200, {"status": "delivered"})
    # Validly signed, same bytes, long after: recognised by its claim, not by the recent ids.
    assert await post_signed(stack, first) == (200, {"status": "duplicate"})
    agent_texts = texts(await stack.events(), "agent")
    assert agent_texts.count("the first agent message") == 1
    assert len(agent_texts) == NEWER + 1


async def test_a_message_whose_turn_was_not_stored_is_delivered_on_redelivery(
        store_url: str, make_stack: StackFactory) -> None:
    stack = await make_stack(store=store_url)
    await start_handover(stack)
    to_id = await genesys_user_id(stack)
    store = stack.client.app[keys.STORE]
    fail_once(store)
    body = agent_message(to_id, "stored the second time", message_id="lost-1")
    raw = json.dumps(body).encode()
    resp = await stack.client.post(URL, data=raw, headers={"Content-Type": "application/json",
                                                           "X-Hub-Signature-256": sign(DEFAULT_WEBHOOK_SECRET, raw)})
    assert resp.status >= 500  # as if the process died before the commit: Genesys will redeliver
    assert "stored the second time" not in texts(await stack.events(), "agent")
    assert await post_signed(stack, body) == (200, {"status": "delivered"})
    assert await post_signed(stack, body) == (200, {"status": "duplicate"})
    assert texts(await stack.events(), "agent").count("stored the second time") == 1


def fail_once(store: Store) -> None:
    """The store's next commit fails (Redis unreachable, disk full) and stores nothing."""
    real = store.commit

    async def commit(key: str, session: Any, events: list[Any], **options: Any) -> list[Any]:
        store.commit = real  # type: ignore[method-assign]
        raise StoreError("the store is unreachable")

    store.commit = commit  # type: ignore[method-assign]
