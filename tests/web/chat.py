"""The web chat in a browser page: open it, say something, the welcome line."""

from __future__ import annotations

from typing import Any

try:
    from playwright.async_api import expect
except ImportError:  # the `browser` fixture skips (or, in CI, fails) with the reason
    pass

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
