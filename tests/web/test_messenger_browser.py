"""The emulator's customer messenger in a real browser: the bot (a stub), its quick replies, the agent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestServer
from emulator.stub_bot import complete, start_stub

from extension.testing.emulator import Emulator, EmulatorConfig

from .chat import GUARD, SCREENSHOTS

try:
    from playwright.async_api import expect

    expect.set_options(timeout=GUARD * 1000)
except ImportError:  # the `browser` fixture skips (or, in CI, fails) with the reason
    pass


def pick(question: str, *choices: str) -> dict[str, Any]:
    content = [{"contentType": "QuickReply", "quickReply": {"text": c, "payload": c.lower(), "action": "Message"}}
               for c in choices]  # fmt: skip
    return {"botState": "MoreData", "replyMessages": [{"type": "Structured", "text": question, "content": content}]}


async def test_bot_quick_reply_transfer_and_agent(
    browser: Any, aiohttp_server: Callable[..., Awaitable[TestServer]]
) -> None:
    stub = await start_stub(aiohttp_server)
    stub.script = [pick("Which topic?", "Billing", "Other"),
                   complete("Escalate", "Connecting you to an agent.", parameters={"topic": "billing"})]  # fmt: skip
    emulator = Emulator(EmulatorConfig(bot_connectors=[stub.connector(queue_id="")], heartbeat_interval=3600.0))
    base = await emulator.start()
    try:
        context = await browser.new_context(viewport={"width": 600, "height": 800})
        page = await context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(f"{base}/messenger")
        await expect(page.locator("#integration")).to_have_text("to Support bot connector")
        await page.fill("#customer-name", "Jane")
        await page.fill("#text", "Hello")
        await page.press("#text", "Enter")
        await expect(page.locator(".msg.bot .text").last).to_have_text("Which topic?")
        await expect(page.locator(".quick button")).to_have_text(["Billing", "Other"])
        await page.click(".quick button >> text=Billing")
        await expect(page.locator(".msg.bot .text").last).to_have_text("Connecting you to an agent.")
        await expect(page.locator("#status")).to_have_text("Waiting for an agent")
        assert stub.calls[1].body["inputMessage"]["content"][0]["buttonResponse"]["payload"] == "billing"

        console = await context.new_page()
        await console.goto(f"{base}/console")
        await expect(console.locator("#waiting-count")).to_have_text("1")
        await console.click("#waiting .conv")
        await expect(console.locator("#transcript")).to_contain_text("Which topic?")
        await expect(console.locator("#attributes")).to_contain_text("Escalate")
        await expect(console.locator("#bot-turns li")).to_have_count(2)
        await expect(console.locator("#bot-turns li").last).to_contain_text("Complete (HTTP 200)")
        await console.click("#accept")
        await console.fill("#reply-text", "Hi Jane, Anna here.")
        await console.press("#reply-text", "Enter")
        await expect(page.locator(".msg.agent .text")).to_have_text("Hi Jane, Anna here.")
        await expect(page.locator("#status")).to_have_text("With an agent")
        SCREENSHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / "messenger.png")
        await console.screenshot(path=SCREENSHOTS / "console-bot-connector.png")
        assert errors == []
    finally:
        await emulator.stop()
