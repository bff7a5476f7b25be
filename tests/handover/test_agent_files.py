"""Agent attachments the user can open: the runtime's signed link, fetched from Genesys with the token."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from extension import keys
from extension.flows.session import SessionKey
from extension.testing.clock import ManualClock
from extension.testing.emulator.downloads import host_file, reply_with_file

from stack import Stack, StackFactory, start_handover

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 300  # about 77 kB, more than one chunk


async def agent_file_event(stack: Stack, data: bytes = PNG, mime: str = "image/png",
                           filename: str = "plan \"v2\".png", chunked: bool = False) -> dict[str, Any]:
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    await reply_with_file(stack.emu, cid, data, mime, filename, text="here it is", chunked=chunked)
    events = await stack.wait_for(lambda ev: any((e.get("data") or {}).get("attachments") for e in ev))
    return next(e for e in events if (e.get("data") or {}).get("attachments"))["data"]["attachments"][0]


def path_of(url: str) -> str:
    return urlsplit(url).path


async def test_the_agents_file_opens_through_the_runtimes_link(make_stack: StackFactory) -> None:
    stack = await make_stack()
    attachment = await agent_file_event(stack)
    assert attachment["url"].startswith("http://127.0.0.1/attachments/f1.")
    # The token shows no id of the session or of Genesys: a prefix, a random blob id, the expiry
    # and the signature (both random-looking, so compare parts, not substrings).
    prefix, blob_id, expires, signature = path_of(attachment["url"]).removeprefix("/attachments/").split(".")
    assert (prefix, len(blob_id), expires.isdigit(), len(signature)) == ("f1", 22, True, 43)
    assert blob_id != "u1" and "downloads" not in attachment["url"].split("/")
    assert (attachment["mime"], attachment["filename"], attachment["mediaType"]) == (
        "image/png", "plan \"v2\".png", "Image")

    resp = await stack.client.get(path_of(attachment["url"]))
    assert resp.status == 200, await resp.text()
    assert await resp.read() == PNG
    assert resp.content_type == "image/png"
    assert resp.headers["Content-Disposition"].startswith('inline; filename="plan _v2_.png"')
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    # The download API was called with the token, and its redirect followed without it.
    calls = [r for r in stack.emu.requests if "downloads" in r.path]
    assert [c.path.split("/")[1] for c in calls] == ["api", "signed-downloads"]
    assert calls[0].headers["Authorization"].startswith("Bearer ")
    assert "Authorization" not in calls[1].headers


async def test_a_file_of_another_type_is_saved_not_shown(make_stack: StackFactory) -> None:
    stack = await make_stack()
    attachment = await agent_file_event(stack, b"<script>alert(1)</script>", "text/html", "../../page.html")
    resp = await stack.client.get(path_of(attachment["url"]))
    assert resp.status == 200 and await resp.read() == b"<script>alert(1)</script>"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="page.html"')
    assert "sandbox" in resp.headers["Content-Security-Policy"]


async def test_a_link_expires(make_stack: StackFactory) -> None:
    clock = ManualClock()
    stack = await make_stack(clock=clock, extra="attachment_link_seconds = 60\n")
    attachment = await agent_file_event(stack)
    assert (await stack.client.get(path_of(attachment["url"]))).status == 200
    await clock.advance(61)
    resp = await stack.client.get(path_of(attachment["url"]))
    assert resp.status == 403 and "expired" in (await resp.json())["error"]


async def test_a_changed_link_or_one_signed_for_another_session_is_refused(make_stack: StackFactory) -> None:
    stack = await make_stack()
    attachment = await agent_file_event(stack)
    token = path_of(attachment["url"]).rsplit("/", 1)[1]
    prefix, blob_id, expires, signature = token.split(".")
    other = stack.client.app[keys.LINKS].token(blob_id, SessionKey("support-bot", "u2", "s1").id, int(expires))
    changed = [f"{prefix}.{blob_id}.{int(expires) + 1}.{signature}", f"{prefix}.{blob_id}x.{expires}.{signature}",
               f"{prefix}.{blob_id}.{expires}.{signature[:-2]}AA", other, "nonsense"]
    for bad in changed:
        resp = await stack.client.get(f"/attachments/{bad}")
        assert resp.status == 403, bad
        assert "error" in await resp.json()
    assert (await stack.client.get(path_of(attachment["url"]))).status == 200


async def test_a_link_dies_with_its_session(make_stack: StackFactory) -> None:
    stack = await make_stack()
    attachment = await agent_file_event(stack)
    await stack.store.delete_session(SessionKey("support-bot", "u1", "s1").id)
    assert (await stack.client.get(path_of(attachment["url"]))).status == 403


async def test_genesys_failing_is_a_502_with_an_error(make_stack: StackFactory) -> None:
    stack = await make_stack()
    attachment = await agent_file_event(stack)
    stack.emu.faults.server_error("/api/v2/downloads/*", times=None)
    resp = await stack.client.get(path_of(attachment["url"]))
    assert resp.status == 502
    assert "Genesys answered 503" in (await resp.json())["error"]


async def test_a_file_over_the_limit_is_not_served(make_stack: StackFactory) -> None:
    stack = await make_stack(extra="attachment_max_bytes = 1000\n")
    attachment = await agent_file_event(stack)
    resp = await stack.client.get(path_of(attachment["url"]))
    assert resp.status == 502 and "1000 bytes" in (await resp.json())["error"]


async def test_a_file_of_unsaid_size_is_cut_off_at_the_limit(make_stack: StackFactory) -> None:
    stack = await make_stack(extra="attachment_max_bytes = 40000\n")
    attachment = await agent_file_event(stack, chunked=True)
    resp = await stack.client.get(path_of(attachment["url"]))
    assert resp.status == 200  # begun before the size was known
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()
    stack2 = await make_stack(extra="attachment_max_bytes = 100000\n")
    whole = await agent_file_event(stack2, chunked=True)
    resp = await stack2.client.get(path_of(whole["url"]))
    assert resp.status == 200 and await resp.read() == PNG


async def test_a_url_not_of_the_download_api_is_passed_as_it_is(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    hosted = host_file(stack.emu.app, "https://elsewhere.example", PNG, "image/png", "a.png")
    await stack.emu.agent.reply(cid, "public", attachments=[hosted])
    events = await stack.wait_for(lambda ev: any((e.get("data") or {}).get("attachments") for e in ev))
    urls = [a["url"] for e in events for a in (e.get("data") or {}).get("attachments") or []]
    assert urls == [hosted["url"]]
