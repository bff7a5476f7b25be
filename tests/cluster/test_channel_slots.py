"""Channel slots of one OAuth client, shared by two replicas on one Redis."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from extension.providers.genesys_om import channel_slots
from extension.providers.genesys_om.channel_slots import ChannelSlots, client_key
from extension.store import Store, store_from_url

from redis_server import delete_prefix, new_prefix, redis_url, require_redis

LEASE = 1.0  # long enough that a loaded machine still renews in time


@pytest.fixture
async def stores() -> AsyncIterator[list[Store]]:
    require_redis()
    prefix = new_prefix()
    made: list[Store] = []
    try:
        for _ in range(2):
            store = store_from_url(redis_url(prefix))
            await store.open()
            made.append(store)
        yield made
    finally:
        for store in made:
            with contextlib.suppress(Exception):
                await store.close()
        await delete_prefix(prefix)


async def test_two_replicas_count_the_channels_of_one_oauth_client_together(
        stores: list[Store], monkeypatch: pytest.MonkeyPatch) -> None:
    # A replica that found every slot taken asks again only after a pause; here at once.
    monkeypatch.setattr(channel_slots, "FULL_RECHECK_SECONDS", 0.0)
    key = client_key("https://api.mypurecloud.de", "client-1")
    a, b = (ChannelSlots(store.coordination(), key, LEASE, limit=3) for store in stores)
    other = ChannelSlots(stores[1].coordination(), client_key("https://api.mypurecloud.de", "client-2"), LEASE,
                         limit=3)
    try:
        taken_a = [await a.take(), await a.take()]
        taken_b = await b.take()
        assert None not in taken_a and taken_b is not None
        # Three channels in use between the two replicas: neither may create a fourth.
        assert await a.take() is None and await b.take() is None
        # Another OAuth client has its own limit.
        assert await other.take() is not None
        # Slots outlive their lease while held (renewed), and a given-back slot is free for the other replica.
        await asyncio.sleep(LEASE * 2)
        assert await b.take() is None
        await a.give(taken_a[0])
        assert await b.take() == taken_a[0]
        # A replica that dies without a word frees its slots when their leases run out.
        assert a._task is not None
        a._task.cancel()
        await asyncio.sleep(LEASE * 1.5)
        assert await b.take() == taken_a[1]
    finally:
        for slots in (a, b, other):
            await slots.stop()
