"""The store's blob area (uploaded files): kept with their document, replaced, deleted, expired, on every store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from extension.store import Store, store_from_url


@pytest.fixture
async def blob_store(store_url: str) -> AsyncIterator[Store]:
    store = store_from_url(store_url)
    await store.open()
    yield store
    await store.close()


async def test_a_blob_is_kept_with_its_document_and_read_back_whole(blob_store: Store) -> None:
    data = bytes(range(256)) * 40  # every byte value, not only text
    await blob_store.put_blob("b1", data, {"mime": "image/png", "filename": "ü.png"}, 60)
    blob = await blob_store.get_blob("b1")
    assert blob is not None and blob.data == data and blob.meta == {"mime": "image/png", "filename": "ü.png"}
    assert await blob_store.get_blob("b2") is None
    assert "bytes" in repr(blob) and "\\x00" not in repr(blob)


async def test_a_blob_is_replaced_and_deleted(blob_store: Store) -> None:
    await blob_store.put_blob("b1", b"first", {"n": 1}, 60)
    await blob_store.put_blob("b1", b"", {"n": 2}, 60)
    blob = await blob_store.get_blob("b1")
    assert blob is not None and (blob.data, blob.meta) == (b"", {"n": 2})
    await blob_store.delete_blob("b1")
    await blob_store.delete_blob("b1")
    assert await blob_store.get_blob("b1") is None


async def test_a_blob_expires(blob_store: Store) -> None:
    await blob_store.put_blob("short", b"x", {}, 0.2)
    await blob_store.put_blob("long", b"y", {}, 60)
    assert await blob_store.get_blob("short") is not None
    await asyncio.sleep(0.4)
    assert await blob_store.get_blob("short") is None
    long = await blob_store.get_blob("long")
    assert long is not None and long.data == b"y"
