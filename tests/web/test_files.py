"""Files in the web chat: the user sends an image, and the agent's file opens from the runtime's link."""

from __future__ import annotations

import struct
import zlib
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from extension.demo import Demo
from extension.testing.emulator.downloads import reply_with_file

from .chat import ask_for_an_agent
from support import eventually

try:
    from playwright.async_api import expect
except ImportError:  # the `browser` fixture skips (or, in CI, fails) with the reason
    pass


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG of one colour, so the browser can decode it."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


async def test_the_user_sends_a_file_and_the_agents_file_opens(demo: Demo, browser: Any) -> None:
    context = await browser.new_context()
    chat = await context.new_page()
    errors: list[str] = []
    chat.on("pageerror", lambda error: errors.append(str(error)))
    await chat.goto(demo.webchat_url)
    await ask_for_an_agent(chat)
    cid = demo.emulator.agent.waiting()[0].id
    await demo.emulator.agent.accept(cid)

    mine = png(8, 6, (200, 30, 30))
    await chat.fill("#text", "my photo")
    await chat.set_input_files("#file", files=[{"name": "photo.png", "mimeType": "image/png", "buffer": mine}])
    await expect(chat.locator(".msg.user .attachments img").last).to_have_attribute("alt", "photo.png")
    inbound = await eventually(lambda: [m for m in demo.emulator.inbound_messages(cid) if m.content],
                               "the file reached the agent")
    sent = inbound[-1].content[0]["attachment"]
    assert (inbound[-1].text, sent["mime"], sent["mediaType"], sent["filename"]) == (
        "my photo", "image/png", "Image", "photo.png")
    async with aiohttp.ClientSession() as http, http.get(sent["url"]) as fetched:  # as Genesys fetches it
        assert fetched.status == 200 and await fetched.read() == mine

    # A file the runtime refuses is said so, and nothing is sent.
    await chat.set_input_files("#file", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hi"}])
    await expect(chat.locator(".msg.notice").last).to_contain_text("Not sent: notes.txt")
    assert len([m for m in demo.emulator.inbound_messages(cid) if m.content]) == 1

    theirs = png(12, 9, (30, 30, 200))
    await reply_with_file(demo.emulator, cid, theirs, "image/png", "answer.png", text="here is mine")
    image = chat.locator(".msg.agent .attachments img").last
    await expect(image).to_have_attribute("alt", "answer.png")
    src = await image.get_attribute("src")
    assert urlsplit(src).path.startswith("/attachments/f1.")
    # The browser decoded it: the runtime fetched it from the emulator's download API and streamed it on.
    await eventually(lambda: image.evaluate("img => img.complete && img.naturalWidth === 12"),
                     "the agent's image shown")
    opened = await context.new_page()
    answer = await opened.goto(src)
    assert answer.status == 200 and await answer.body() == theirs
    assert errors == []
    await context.close()
