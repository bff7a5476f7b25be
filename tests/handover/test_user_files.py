"""User files to the agent: uploaded to the runtime, checked by their content, sent by a signed link."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from extension import keys
from extension.flows.session import SessionKey
from extension.store import Store
from extension.testing.clock import ManualClock

from stack import Stack, StackFactory, start_handover, wait_inbound

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 2000
PDF = b"%PDF-1.7\n" + b"x" * 500
WEBP = b"RIFF\x10\0\0\0WEBPVP8 " + b"\0" * 100


async def upload(stack: Stack, data: bytes, content_type: str | None = "image/png", filename: str | None = "a.png",
                 user: str = "u1") -> tuple[int, Any]:
    params = {"userId": user, "sessionId": "s1"}
    if filename is not None:
        params["filename"] = filename
    headers = {**stack.auth(user), **({"Content-Type": content_type} if content_type else {})}
    resp = await stack.client.post(f"/{stack.token}/attachments", params=params, data=data, headers=headers)
    return resp.status, await resp.json()


@pytest.fixture
def blob_writes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of every blob any store writes during the test."""
    written: list[str] = []
    from extension.store.memory import MemoryStore
    original = MemoryStore.put_blob

    async def put_blob(self: Store, key: str, data: bytes, meta: dict[str, Any], ttl: float) -> None:
        written.append(key)
        await original(self, key, data, meta, ttl)  # type: ignore[arg-type]

    monkeypatch.setattr(MemoryStore, "put_blob", put_blob)
    return written


async def test_an_uploaded_file_reaches_the_agent_by_a_link_genesys_can_open(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    status, answer = await upload(stack, PNG, filename="../my photo ü.png")
    assert status == 201, answer
    attachment = answer["attachment"]
    assert attachment["url"].startswith("http://127.0.0.1/attachments/f1.")
    assert {k: attachment[k] for k in ("mime", "mediaType", "filename", "size")} == {
        "mime": "image/png", "mediaType": "Image", "filename": "my photo ü.png", "size": len(PNG)}

    await stack.say("my photo", data={"attachments": [attachment]})
    await wait_inbound(stack, cid, ["my photo"])
    sent = stack.emu.inbound_messages(cid)[-1].content[0]["attachment"]
    assert sent == {"url": attachment["url"], "mime": "image/png", "mediaType": "Image", "filename": "my photo ü.png"}

    # Genesys fetches it with no session proof at all.
    resp = await stack.client.get(urlsplit(sent["url"]).path)
    assert resp.status == 200 and await resp.read() == PNG and resp.content_type == "image/png"
    assert "filename*=UTF-8''my%20photo%20%C3%BC.png" in resp.headers["Content-Disposition"]


@pytest.mark.parametrize(("data", "content_type", "mime"), [
    (PDF, "application/pdf", "application/pdf"), (WEBP, None, "image/webp"),
    (b"GIF89a" + b"\0" * 10, "application/octet-stream", "image/gif"), (b"\xff\xd8\xff\xe0" + b"\0" * 10, "image/jpeg",
                                                                      "image/jpeg")])
async def test_each_allowed_type_is_known_by_its_content(make_stack: StackFactory, data: bytes,
                                                         content_type: str | None, mime: str) -> None:
    stack = await make_stack()
    await stack.say("hello")
    status, answer = await upload(stack, data, content_type, filename=None)
    assert status == 201, answer
    assert answer["attachment"]["mime"] == mime
    assert answer["attachment"]["filename"].startswith("file.")


@pytest.mark.parametrize(("data", "content_type", "status", "says"), [
    (b"", "image/png", 400, "empty"),
    (b"hello, not an image", "image/png", 415, "image"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml", 415, "image"),
    (PDF, "image/png", 415, "application/pdf"),
    (PNG + b"\0" * 5000, "image/png", 413, "5000 bytes"),
])
async def test_a_bad_file_is_refused_and_nothing_is_kept(make_stack: StackFactory, blob_writes: list[str],
                                                         data: bytes, content_type: str, status: int,
                                                         says: str) -> None:
    stack = await make_stack(server_extra="max_upload_bytes = 5000")
    await stack.say("hello")
    got, answer = await upload(stack, data, content_type)
    assert got == status, answer
    assert says in answer["error"]
    assert blob_writes == []


async def test_an_upload_needs_the_sessions_token_and_a_session(make_stack: StackFactory,
                                                                blob_writes: list[str]) -> None:
    stack = await make_stack(session_access="token")
    assert (await upload(stack, PNG))[0] == 401  # no session yet, so no token either
    await stack.say("hello")
    token = stack.session_tokens.pop("u1")
    status, answer = await upload(stack, PNG)
    assert status == 401 and "sessionToken" in answer["error"]
    assert blob_writes == []
    stack.session_tokens["u1"] = token
    assert (await upload(stack, PNG))[0] == 201
    assert len(blob_writes) == 1


async def test_an_upload_for_a_session_that_does_not_exist_is_refused(make_stack: StackFactory,
                                                                     blob_writes: list[str]) -> None:
    stack = await make_stack()
    status, answer = await upload(stack, PNG, user="nobody")
    assert status == 404 and answer["error"] == "no such session"
    assert blob_writes == []


async def test_an_upload_link_expires_and_is_bound_to_its_session(make_stack: StackFactory) -> None:
    clock = ManualClock()
    stack = await make_stack(clock=clock, server_extra="upload_link_seconds = 120")
    await stack.say("hello")
    _, answer = await upload(stack, PNG)
    path = urlsplit(answer["attachment"]["url"]).path
    _, blob_id, expires, _ = path.rsplit("/", 1)[1].split(".")
    other = stack.client.app[keys.LINKS].token(blob_id, SessionKey("support-bot", "u2", "s1").id, int(expires))
    assert (await stack.client.get(f"/attachments/{other}")).status == 403
    assert (await stack.client.get(path)).status == 200
    await clock.advance(121)
    assert (await stack.client.get(path)).status == 403


async def test_files_both_ways_on_every_store(store_url: str, make_stack: StackFactory) -> None:
    from extension.testing.emulator.downloads import reply_with_file

    stack = await make_stack(store=store_url)
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    status, answer = await upload(stack, PDF, "application/pdf", "terms.pdf")
    assert status == 201, answer
    resp = await stack.client.get(urlsplit(answer["attachment"]["url"]).path)
    assert resp.status == 200 and await resp.read() == PDF

    await reply_with_file(stack.emu, cid, PNG, "image/png", "back.png")
    events = await stack.wait_for(lambda ev: any((e.get("data") or {}).get("attachments") for e in ev))
    link = next(e for e in events if (e.get("data") or {}).get("attachments"))["data"]["attachments"][0]["url"]
    resp = await stack.client.get(urlsplit(link).path)
    assert resp.status == 200 and await resp.read() == PNG
