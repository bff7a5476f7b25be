"""The demo's second story in Chromium: a customer inside Genesys talks to the bot through Architect,
asks for a person, and the agent console gets the conversation with the bot part as transcript."""

from __future__ import annotations

from typing import Any

from extension.demo import Demo

from .chat import GUARD, SCREENSHOTS, WELCOME

try:
    from playwright.async_api import expect

    expect.set_options(timeout=GUARD * 1000)
except ImportError:  # the `browser` fixture skips (or, in CI, fails) with the reason
    pass


async def test_customer_messenger_bot_escalation_queue_agent(demo: Demo, browser: Any) -> None:
    assert demo.messenger_url is not None
    context = await browser.new_context(viewport={"width": 1200, "height": 820})
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(demo.messenger_url)
    await page.fill("#customer-name", "Jane")
    await page.fill("#text", "hello")
    await page.press("#text", "Enter")
    # The runtime's flow answers through the Bot Connector endpoint, relayed by the emulated Architect.
    await expect(page.locator(".msg.bot .text").first).to_have_text(WELCOME)
    await page.fill("#text", "What can you do?")
    await page.press("#text", "Enter")
    await expect(page.locator(".msg.bot .text").last).to_have_text("You said: What can you do?")
    await page.fill("#text", "I want an agent")
    await page.press("#text", "Enter")
    await expect(page.locator(".msg.bot .text").last).to_have_text("You are being connected to an agent.")
    await expect(page.locator("#status")).to_have_text("Waiting for an agent")

    console = await context.new_page()
    await console.goto(demo.console_url)
    await expect(console.locator("#waiting-count")).to_have_text("1")
    await console.click("#waiting .conv")
    await expect(console.locator("#transcript")).to_contain_text("What can you do?")
    await expect(console.locator("#transcript")).to_contain_text("You said: What can you do?")
    await expect(console.locator("#attributes")).to_contain_text("Escalate")
    await expect(console.locator("#attributes")).to_contain_text("demo")  # the node's customAttributes source
    await console.fill("#agent-name", "Anna")
    await console.click("#accept")
    await console.fill("#reply-text", "Hi Jane, Anna here. How can I help?")
    await console.press("#reply-text", "Enter")
    await expect(page.locator(".msg.agent .text")).to_have_text("Hi Jane, Anna here. How can I help?")
    await expect(page.locator("#status")).to_have_text("With an agent")
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "demo-messenger.png")
    await console.screenshot(path=SCREENSHOTS / "demo-console-bot-connector.png")
    assert errors == []
    await context.close()
