"""The demo in a real browser: the web chat and the agent console, clicked the way people click."""

from __future__ import annotations

from typing import Any

from extension.demo import Demo

from .chat import GUARD, SCREENSHOTS, WELCOME, ask_for_an_agent, open_chat, say
from .proxy import Proxy
from support import eventually

try:
    from playwright.async_api import expect

    expect.set_options(timeout=GUARD * 1000)
except ImportError:  # the `browser` fixture skips (or, in CI, fails) with the reason
    pass


async def test_the_whole_story(demo: Demo, browser: Any) -> None:
    context = await browser.new_context(viewport={"width": 760, "height": 860})
    chat, chat_errors = await open_chat(context, demo.webchat_url)
    await ask_for_an_agent(chat)
    await expect(chat.locator(".quick button")).to_have_text(["Cancel"])
    # Genesys' estimated wait (the emulator's: first in the queue, 90 s) shows in the banner.
    await expect(chat.locator("#handover")).to_contain_text("Estimated wait: about 2 min.")

    console = await context.new_page()
    await console.set_viewport_size({"width": 1280, "height": 800})
    await console.goto(demo.console_url)
    await expect(console.locator("#waiting-count")).to_have_text("1")
    await expect(console.locator("#d-state")).to_have_attribute("data-state", "waiting")
    await expect(console.locator("#transcript")).to_contain_text("Customer: What can you do?")
    await console.fill("#agent-name", "Anna")
    await console.click("#accept")
    await expect(console.locator("#d-state")).to_have_attribute("data-state", "active")
    await expect(chat.locator("#handover")).to_have_attribute("data-state", "active")
    await expect(chat.locator(".quick")).to_have_count(0)
    await expect(console.locator("#waiting-count")).to_have_text("0")
    await expect(console.locator("#active-count")).to_have_text("1")
    await expect(console.locator("#active .conv")).to_have_count(1)
    await expect(console.locator("#active .conv .queue")).to_have_text("Support · Anna")
    cid = demo.emulator.agent.active()[0].id
    assert await console.locator("#active .conv").get_attribute("data-id") == cid

    # The Genesys flow speaks too (originatingEntity Bot): the user sees it as a system line.
    await demo.emulator.agent.flow_message(cid, "You are connected to Support.")
    flow_line = chat.locator(".msg.system").last
    await expect(flow_line.locator(".text")).to_have_text("You are connected to Support.")
    await expect(flow_line.locator(".who")).to_have_text("System")

    # The Copilot link among the custom attributes opens the read-only view of this session.
    copilot_link = console.locator("#attributes a.copilot")
    assert (await copilot_link.get_attribute("href") or "").startswith(
        f"{demo.runtime_url}/copilot/?URLToken=demo&auth=")
    async with context.expect_page() as opened:
        await copilot_link.click()
    copilot = await opened.value
    await expect(copilot.locator("#state")).to_have_attribute("data-state", "active")
    await expect(copilot.locator("#transcript")).to_contain_text("What can you do?")
    await copilot.screenshot(path=SCREENSHOTS / "copilot.png")
    await copilot.close()

    await console.click("#typing")
    await expect(chat.locator("#typing")).to_be_visible()
    await console.fill("#reply-text", "Hi, this is Anna. How can I help?")
    await console.press("#reply-text", "Enter")
    await expect(chat.locator(".msg.agent .text")).to_have_text(["Hi, this is Anna. How can I help?"])
    await expect(chat.locator(".msg.agent .who")).to_have_text(["Agent"])
    await say(chat, "My parcel has not arrived.")
    await expect(console.locator("#transcript .entry.customer").last).to_contain_text("My parcel has not arrived.")
    # Typing in the chat during a handover reaches Genesys as a typing event.
    await eventually(lambda: _customer_typed(demo))
    await console.fill("#transfer-to", "Bob")
    await console.click("#transfer")
    await expect(console.locator("#d-meta")).to_contain_text("agent Bob")
    await console.fill("#reply-text", "Bob here, I will look into it.")
    await console.click("#send")
    await expect(chat.locator(".msg.agent .text").last).to_have_text("Bob here, I will look into it.")
    await expect(chat.locator("#handover")).to_have_attribute("data-state", "active")
    await console.fill("#attach-url", "https://example.com/help/parcels")
    await console.fill("#attach-name", "Where is my parcel?")
    await console.click("#attach")
    attachment = chat.locator(".msg.agent .attachments a")
    await expect(attachment).to_have_text("Where is my parcel?")
    assert await attachment.get_attribute("href") == "https://example.com/help/parcels"
    await expect(chat.locator("#typing")).to_be_hidden()

    # A Structured agent message: its quick replies are buttons, and a click answers the agent.
    await demo.emulator.agent.reply(cid, "Did that help?", quick_replies=["Yes, thanks", "Not really"])
    question = chat.locator(".msg.agent").last
    await expect(question.locator(".text")).to_have_text("Did that help?")
    await expect(question.locator(".quick button")).to_have_text(["Yes, thanks", "Not really"])
    await expect(console.locator("#transcript .entry").last).to_contain_text("Did that help?")
    SCREENSHOTS.mkdir(exist_ok=True)
    await chat.screenshot(path=SCREENSHOTS / "webchat.png")
    await console.screenshot(path=SCREENSHOTS / "console.png")
    await question.locator(".quick button:has-text('Yes, thanks')").click()
    await expect(chat.locator(".msg.user .text").last).to_have_text("Yes, thanks")
    await expect(chat.locator(".quick")).to_have_count(0)
    await expect(console.locator("#transcript .entry.customer").last).to_contain_text("Yes, thanks")
    # The click went to Genesys as the choice of that agent message, not as typed text.
    choice = await eventually(lambda: _last_inbound(demo, cid))
    assert choice.type == "Structured" and choice.body["buttonResponse"]["payload"] == "Yes, thanks"
    assert demo.emulator.router.open_conversation(cid).transcript[-2].text == "Did that help?"
    assert choice.body["originatingMessageId"] == demo.emulator.router.open_conversation(cid).transcript[-2].id

    await console.click("#end")
    await expect(console.locator("#d-state")).to_have_attribute("data-state", "ended")
    await expect(chat.locator("#handover")).to_have_attribute("data-state", "back")
    await expect(chat.locator(".msg.bot .text").last).to_have_text("Welcome back! The bot is here again.")
    await say(chat, "thanks")
    await expect(chat.locator(".msg.bot .text").last).to_have_text("You said: thanks")
    assert chat_errors == []
    await context.close()


async def _customer_typed(demo: Demo) -> bool:
    return any(c.events for c in demo.emulator.agent.conversations())


async def test_the_user_cancels_while_queued(demo: Demo, browser: Any) -> None:
    context = await browser.new_context()
    chat, errors = await open_chat(context, demo.webchat_url)
    await ask_for_an_agent(chat)
    conversation = demo.emulator.agent.waiting()[0]
    await chat.click(".quick button:has-text('Cancel')")
    await expect(chat.locator(".msg.user .text").last).to_have_text("Cancel")
    await expect(chat.locator(".msg.bot .text").last).to_have_text("Handover cancelled. How else can I help?")
    await expect(chat.locator("#handover")).to_have_attribute("data-state", "back")
    await expect(chat.locator(".quick")).to_have_count(0)
    await eventually(lambda: _ended(demo, conversation.id))
    await chat.click("#reset")
    await expect(chat.locator("#log .msg")).to_have_count(0)
    await expect(chat.locator("#handover")).to_have_attribute("data-state", "bot")
    await say(chat, "hello again")
    await expect(chat.locator(".msg.bot .text")).to_have_text([WELCOME])
    assert errors == []
    await context.close()


async def test_attachments_show_as_images_or_links_and_never_as_script(demo: Demo, browser: Any) -> None:
    context = await browser.new_context()
    chat, _ = await open_chat(context, demo.webchat_url)
    await ask_for_an_agent(chat)
    cid = demo.emulator.agent.waiting()[0].id
    await demo.emulator.agent.accept(cid)
    await demo.emulator.agent.reply(cid, "Here you go", attachments=[
        {"url": "https://files.example.com/receipt.png", "mime": "image/png", "filename": "receipt.png"},
        {"url": "https://files.example.com/terms.pdf", "mime": "application/pdf", "filename": "terms.pdf"},
        {"url": "javascript:alert(1)", "mime": "text/html", "filename": "click me"},
    ])
    bubble = chat.locator(".msg.agent").last
    await expect(bubble.locator(".text")).to_have_text("Here you go")
    await expect(bubble.locator(".attachments img")).to_have_attribute("src", "https://files.example.com/receipt.png")
    await expect(bubble.locator(".attachments a")).to_have_count(2)
    await expect(bubble.locator(".attachments a").last).to_have_text("terms.pdf")
    assert await chat.locator("a[href^='javascript']").count() == 0
    await context.close()


async def _ended(demo: Demo, conversation_id: str) -> bool:
    return demo.emulator.agent.get(conversation_id).state == "ended"


async def test_a_dropped_socket_loses_nothing_and_repeats_nothing(demo: Demo, browser: Any) -> None:
    proxy = Proxy("127.0.0.1", demo.config.server.port)
    base = await proxy.start()
    try:
        context = await browser.new_context()
        chat, _ = await open_chat(context, f"{base}/webchat/demo")
        await ask_for_an_agent(chat)
        cid = demo.emulator.agent.waiting()[0].id
        await demo.emulator.agent.accept(cid)
        await demo.emulator.agent.reply(cid, "first answer")
        await expect(chat.locator(".msg.agent .text")).to_have_text(["first answer"])

        proxy.paused = True
        proxy.cut()
        await expect(chat.locator("#conn")).to_have_attribute("data-state", "reconnecting")
        await demo.emulator.agent.reply(cid, "sent while you were away")
        await demo.emulator.agent.reply(cid, "and one more")
        proxy.paused = False
        await expect(chat.locator("#conn")).to_have_attribute("data-state", "online")
        agent_lines = ["first answer", "sent while you were away", "and one more"]
        await expect(chat.locator(".msg.agent .text")).to_have_text(agent_lines)
        await say(chat, "got them")
        await eventually(lambda: _inbound(demo, cid, "got them"))

        seqs = [int(s) for s in await chat.locator("#log [data-seq]").evaluate_all(
            "nodes => nodes.map(n => n.dataset.seq)")]
        assert seqs == sorted(set(seqs))
        before = await chat.locator("#log .msg .text").all_text_contents()
        await chat.reload()
        await expect(chat.locator("#conn")).to_have_attribute("data-state", "online")
        await expect(chat.locator(".msg.agent .text")).to_have_text(agent_lines)
        assert await chat.locator("#log .msg .text").all_text_contents() == before
        await context.close()
    finally:
        await proxy.stop()


async def _inbound(demo: Demo, cid: str, text: str) -> bool:
    return [e.text for e in demo.emulator.inbound_messages(cid)].count(text) == 1


async def _last_inbound(demo: Demo, cid: str) -> Any:
    entries = demo.emulator.inbound_messages(cid)
    return entries[-1] if entries and entries[-1].text == "Yes, thanks" else None
