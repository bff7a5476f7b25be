"""The web chat in a browser page: open it, say something, ask for an agent, the welcome line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

try:
    from playwright.async_api import expect
except ImportError:  # the `browser` fixture skips (or, in CI, fails) with the reason
    pass

GUARD = 10.0  # seconds before a wait gives up (a hang guard, not a timing check)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
WELCOME = "Hi! I am the demo bot. Say anything and I will echo it, or type 'agent' to talk to a person."


async def open_chat(context: Any, url: str) -> tuple[Any, list[str]]:
    """The web chat page, online, with every script error and CSP violation collected."""
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(url)
    await expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    return page, errors


async def say(page: Any, text: str) -> None:
    await page.fill("#text", text)
    await page.press("#text", "Enter")
    await expect(page.locator(".msg.user .text").last).to_have_text(text)


async def ask_for_an_agent(chat: Any) -> None:
    """Say hello, ask something, then ask for an agent: the handover is queued."""
    await say(chat, "hello")
    await expect(chat.locator(".msg.bot .text").first).to_have_text(WELCOME)
    await say(chat, "What can you do?")
    await expect(chat.locator(".msg.bot .text").last).to_have_text("You said: What can you do?")
    await say(chat, "I want an agent")
    await expect(chat.locator(".msg.bot .text").last).to_have_text("You are being connected to an agent.")
    await expect(chat.locator("#handover")).to_have_attribute("data-state", "queue")
