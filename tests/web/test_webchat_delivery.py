"""The web chat in a real browser: a message written just before the network drops is neither lost nor doubled."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from extension.demo import Demo

from .chat import WELCOME, open_chat, say
from .proxy import Proxy
from support import eventually

try:
    from playwright.async_api import expect
except ImportError:  # the `browser` fixture skips (or, in CI, fails) with the reason
    pass

PENDING = re.compile(r"\bpending\b")


@pytest.fixture
async def proxy(demo: Demo) -> AsyncIterator[Proxy]:
    running = Proxy("127.0.0.1", demo.config.server.port)
    await running.start()
    yield running
    await running.stop()


async def started_chat(context: Any, proxy: Proxy) -> Any:
    """A chat through the proxy that has already talked to the bot once."""
    chat, errors = await open_chat(context, f"http://127.0.0.1:{proxy.port}/webchat/demo")
    await say(chat, "hello")
    await expect(chat.locator(".msg.bot .text")).to_have_text([WELCOME])
    await expect(chat.locator(".msg.user.pending")).to_have_count(0)
    assert errors == []
    return chat


async def bot_lines(demo: Demo, chat: Any) -> list[str]:
    """What the runtime stored for the chat's session (not what the page shows)."""
    ids = await chat.evaluate("() => JSON.parse(localStorage.getItem('genesys-om.webchat.demo.ids'))")
    async with aiohttp.ClientSession() as http, http.get(f"{demo.runtime_url}/demo/events", params={
            "userId": ids["userId"], "sessionId": ids["sessionId"],
            "sessionToken": ids.get("sessionToken", "")}) as response:
        return [e["text"] for e in (await response.json())["events"] if e.get("source") == "bot"]


async def drop(proxy: Proxy, chat: Any) -> None:
    """The network goes away: every connection ends and nothing new gets through."""
    proxy.paused = True
    proxy.cut()
    proxy.drop_up = proxy.drop_down = False
    await expect(chat.locator("#conn")).to_have_attribute("data-state", "reconnecting")


async def test_a_frame_lost_on_the_way_is_sent_again_after_the_reconnect(
        demo: Demo, browser: Any, proxy: Proxy) -> None:
    context = await browser.new_context()
    chat = await started_chat(context, proxy)
    proxy.drop_up = True
    await say(chat, "lost on the way")
    await expect(chat.locator(".msg.user").last).to_have_class(PENDING)
    await drop(proxy, chat)
    assert await bot_lines(demo, chat) == [WELCOME]  # the frame never reached the runtime
    proxy.paused = False
    await expect(chat.locator("#conn")).to_have_attribute("data-state", "online")
    await expect(chat.locator(".msg.bot .text")).to_have_text([WELCOME, "You said: lost on the way"])
    await expect(chat.locator(".msg.user.pending")).to_have_count(0)
    assert await bot_lines(demo, chat) == [WELCOME, "You said: lost on the way"]
    await context.close()


async def test_a_frame_whose_ack_was_lost_is_applied_once(demo: Demo, browser: Any, proxy: Proxy) -> None:
    context = await browser.new_context()
    chat = await started_chat(context, proxy)
    proxy.drop_down = True
    await say(chat, "answer lost")
    expected = [WELCOME, "You said: answer lost"]
    await eventually(lambda: _stored(demo, chat, expected))
    await expect(chat.locator(".msg.user").last).to_have_class(PENDING)
    await drop(proxy, chat)
    proxy.paused = False
    await expect(chat.locator("#conn")).to_have_attribute("data-state", "online")
    await expect(chat.locator(".msg.user.pending")).to_have_count(0)
    await expect(chat.locator(".msg.bot .text")).to_have_text(expected)
    await expect(chat.locator(".msg.user .text")).to_have_text(["hello", "answer lost"])
    assert await bot_lines(demo, chat) == expected  # the resent frame was acknowledged, not applied again
    await context.close()


async def test_a_pending_message_survives_a_reload(demo: Demo, browser: Any, proxy: Proxy) -> None:
    context = await browser.new_context()
    chat = await started_chat(context, proxy)
    proxy.drop_up = True
    await say(chat, "kept across a reload")
    pending = await chat.evaluate("() => Object.keys(localStorage).filter(k => k.includes('.pending.'))"
                                  ".map(k => JSON.parse(localStorage.getItem(k)))")
    assert [[f["text"] for f in frames] for frames in pending] == [["kept across a reload"]]
    ids = await chat.evaluate("() => localStorage.getItem('genesys-om.webchat.demo.ids')")
    await chat.close()
    proxy.cut()
    proxy.drop_up = False

    again, errors = await open_chat(context, f"http://127.0.0.1:{proxy.port}/webchat/demo")
    assert await again.evaluate("() => localStorage.getItem('genesys-om.webchat.demo.ids')") == ids
    await expect(again.locator(".msg.bot .text")).to_have_text([WELCOME, "You said: kept across a reload"])
    await expect(again.locator(".msg.user .text")).to_have_text(["hello", "kept across a reload"])
    await expect(again.locator(".msg.user.pending")).to_have_count(0)
    assert await bot_lines(demo, again) == [WELCOME, "You said: kept across a reload"]
    assert await again.evaluate("() => Object.keys(localStorage).filter(k => k.includes('.pending.'))") == []
    assert errors == []
    await context.close()


async def _stored(demo: Demo, chat: Any, lines: list[str]) -> bool:
    return await bot_lines(demo, chat) == lines


async def test_the_chat_keeps_its_session_token_and_starts_anew_when_it_is_refused(
        demo: Demo, browser: Any, proxy: Proxy) -> None:
    context = await browser.new_context()
    chat = await started_chat(context, proxy)
    ids = await chat.evaluate("() => JSON.parse(localStorage.getItem('genesys-om.webchat.demo.ids'))")
    assert ids["sessionToken"].startswith("st1.")
    # Without a valid token the runtime gives this page nothing of the session; the page goes on
    # in a new one, and the old session is left as it was.
    await chat.evaluate("""() => localStorage.setItem('genesys-om.webchat.demo.ids',
        JSON.stringify({...JSON.parse(localStorage.getItem('genesys-om.webchat.demo.ids')), sessionToken: 'st1.x'}))""")
    await chat.close()
    again, errors = await open_chat(context, f"http://127.0.0.1:{proxy.port}/webchat/demo")
    await expect(again.locator("#conn")).to_have_attribute("data-state", "online")
    await expect(again.locator(".msg.bot")).to_have_count(0)
    await say(again, "fresh start")
    await expect(again.locator(".msg.bot .text")).to_have_text([WELCOME])
    fresh = await again.evaluate("() => JSON.parse(localStorage.getItem('genesys-om.webchat.demo.ids'))")
    assert fresh["sessionId"] != ids["sessionId"] and fresh["sessionToken"] not in (ids["sessionToken"], "st1.x")
    assert await bot_lines(demo, again) == [WELCOME]
    async with aiohttp.ClientSession() as http, http.get(f"{demo.runtime_url}/demo/events", params={
            "userId": ids["userId"], "sessionId": ids["sessionId"], "sessionToken": ids["sessionToken"]}) as old:
        assert [e["text"] for e in (await old.json())["events"]] == [WELCOME]
    # The browser reports the refused history request; nothing else went wrong on the page.
    assert [e for e in errors if "status of 401" not in e] == []
    await context.close()
