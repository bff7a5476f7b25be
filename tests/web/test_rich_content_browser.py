"""Agent cards, carousels, list and date pickers and templates in the web chat, clicked in Chromium."""

from __future__ import annotations

from typing import Any

from extension.demo import Demo
from extension.testing.emulator.rich_samples import sample

from .chat import GUARD, SCREENSHOTS, open_chat, say
from support import eventually

try:
    from playwright.async_api import expect

    expect.set_options(timeout=GUARD * 1000)
except ImportError:  # the `browser` fixture skips (or, in CI, fails) with the reason
    pass

CARD = {"contentType": "Card", "card": {
    "title": "Premium plan", "description": "Every feature, one price",
    "actions": [{"type": "Postback", "text": "Choose Premium", "payload": "plan-premium"},
                {"type": "Link", "text": "Details", "url": "https://example.com/premium"}]}}
CAROUSEL = {"contentType": "Carousel", "carousel": {"cards": [
    {"title": f"Plan {n}", "description": f"Option {n}",
     "actions": [{"type": "Postback", "text": f"Pick {n}", "payload": f"plan-{n}"}]} for n in range(1, 5)]}}
LIST_PICKER = {"contentType": "ListPicker", "listPicker": {"id": "lp-1", "sections": [
    {"title": "Our stores", "items": [{"id": "s-berlin", "title": "Berlin", "subtitle": "Mitte"},
                                      {"id": "s-munich", "title": "Munich", "subtitle": "Schwabing"}]}]}}
DATE_PICKER = {"contentType": "DatePicker", "datePicker": {
    "id": "dp-1", "title": "When shall we call?",
    "availableTimes": [{"dateTime": "2026-12-05T10:00:00.000Z", "duration": 1800},
                       {"dateTime": "2026-12-05T14:00:00.000Z", "duration": 1800}]}}
NOTIFICATION = {"contentType": "Notification", "template": {
    "id": "t-1", "language": "en", "header": {"type": "Text", "text": "Order update"},
    "body": {"text": "Order {{1}} ships on {{2}}.", "parameters": [{"name": "1", "text": "A-17"},
                                                                     {"name": "2", "text": "Monday"}]}}}


async def test_each_content_type_renders_and_a_choice_goes_back_structured(demo: Demo, browser: Any) -> None:
    context = await browser.new_context(viewport={"width": 760, "height": 900})
    chat, errors = await open_chat(context, demo.webchat_url)
    missing: list[str] = []  # a card without an image must not ask for one
    chat.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    await say(chat, "hello")
    await say(chat, "I want an agent")
    await expect(chat.locator("#handover")).to_have_attribute("data-state", "queue")
    cid = (await eventually(lambda: demo.emulator.agent.waiting(), "the waiting conversation"))[0].id
    await demo.emulator.agent.accept(cid, agent="Anna")
    await expect(chat.locator("#handover")).to_have_attribute("data-state", "active")
    SCREENSHOTS.mkdir(exist_ok=True)

    for name, content, selector in (("card", CARD, ".msg.agent .card"), ("carousel", CAROUSEL, ".carousel .card"),
                                    ("list-picker", LIST_PICKER, ".list-picker .item"),
                                    ("date-picker", DATE_PICKER, ".date-picker select"),
                                    ("notification", NOTIFICATION, ".notification")):
        await demo.emulator.agent.reply(cid, None, rich=[content])
        await expect(chat.locator(selector).first).to_be_visible()
        await chat.locator(".msg.agent").last.screenshot(path=SCREENSHOTS / f"rich-{name}.png")

    # The drawn content replaces its text fallback; the template's parameters are filled in.
    await expect(chat.locator(".notification .card-text")).to_have_text("Order A-17 ships on Monday.")
    await expect(chat.locator(".carousel .card")).to_have_count(4)
    # A javascript: or other non-web link never becomes one; the Details link is a real one.
    assert await chat.locator(".card a.action").first.get_attribute("href") == "https://example.com/premium"

    def structured() -> list[Any]:
        return [r.json for r in demo.emulator.requests if r.path.endswith("/structured/response") and r.status == 200]

    await chat.locator(".card button.action", has_text="Choose Premium").click()
    await eventually(lambda: len(structured()) == 1, "the card's choice reached Genesys")
    assert structured()[0]["buttonResponse"] == {"type": "Button", "text": "Choose Premium", "payload": "plan-premium"}
    await chat.locator(".list-picker .item", has_text="Munich").click()
    await eventually(lambda: len(structured()) == 2, "the list choice reached Genesys")
    assert structured()[1]["buttonResponse"]["payload"] == "s-munich"
    await chat.locator(".date-picker select").select_option("2026-12-05T14:00:00.000Z")
    await chat.locator(".date-picker button").click()
    await eventually(lambda: len(structured()) == 3, "the date reached Genesys")
    assert structured()[2]["buttonResponse"]["type"] == "DatePicker"
    assert structured()[2]["buttonResponse"]["payload"] == "2026-12-05T14:00:00.000Z"
    await chat.screenshot(path=SCREENSHOTS / "rich-content.png")
    assert errors == [], missing
    await context.close()


async def test_template_buttons_carousel_choices_and_card_images_work(demo: Demo, browser: Any) -> None:
    context = await browser.new_context(viewport={"width": 760, "height": 900})
    chat, errors = await open_chat(context, demo.webchat_url)
    await say(chat, "hello")
    await say(chat, "I want an agent")
    cid = (await eventually(lambda: demo.emulator.agent.waiting(), "the waiting conversation"))[0].id
    await demo.emulator.agent.accept(cid, agent="Anna")
    await expect(chat.locator("#handover")).to_have_attribute("data-state", "active")
    base = str(demo.emulator.base_url)
    SCREENSHOTS.mkdir(exist_ok=True)

    def structured() -> list[Any]:
        # Only what the emulator took: it validates each response against what Genesys accepts.
        return [r.json for r in demo.emulator.requests if r.path.endswith("/structured/response") and r.status == 200]

    async def choose(button: Any, count: int) -> dict[str, Any]:
        await button.click()
        await eventually(lambda: len(structured()) == count, f"choice {count} reached Genesys")
        answer: dict[str, Any] = structured()[-1]
        return answer

    sent = await demo.emulator.agent.reply(cid, None, rich=[CAROUSEL])
    answer = await choose(chat.locator(".carousel .card button.action", has_text="Pick 3"), 1)
    assert answer["buttonResponse"] == {"type": "Button", "text": "Pick 3", "payload": "plan-3"}
    assert answer["originatingMessageId"] == sent.id

    # A template's QuickReply button goes back as a quick reply; its Url button is a link.
    sent = await demo.emulator.agent.reply(cid, None, rich=[sample("notification", base)])
    track = chat.locator(".notification a.action", has_text="Track it")
    await expect(track).to_have_attribute("href", "https://example.com/track/A-1027")
    await expect(track).to_have_attribute("target", "_blank")
    assert "noopener" in str(await track.get_attribute("rel")).split()
    answer = await choose(chat.locator(".notification button.action", has_text="Change the date"), 2)
    assert answer["buttonResponse"] == {"type": "QuickReply", "text": "Change the date", "payload": "order-change-date"}
    assert answer["originatingMessageId"] == sent.id

    # The sample card's image is hosted by the emulator and really loads; its defaultAction is a link.
    await demo.emulator.agent.reply(cid, None, rich=[sample("card", base)])
    image = chat.locator(".card img").last
    await expect(image).to_be_visible()
    await eventually(lambda: image.evaluate("img => img.complete && img.naturalWidth > 0"), "the card's image loaded")
    head = chat.locator(".card a.card-default").last
    await expect(head).to_have_attribute("href", "https://example.com/premium")
    await expect(head).to_have_attribute("target", "_blank")
    assert "noopener" in str(await head.get_attribute("rel")).split()
    await chat.locator(".msg.agent").last.screenshot(path=SCREENSHOTS / "rich-card-image.png")

    # A Postback defaultAction makes the whole card one choice.
    sent = await demo.emulator.agent.reply(cid, None, rich=[{"contentType": "Card", "card": {
        "title": "Call me back", "description": "Tap the card",
        "defaultAction": {"type": "Postback", "text": "Call me back", "payload": "callback"}}}])
    answer = await choose(chat.locator(".card button.card-default", has_text="Call me back"), 3)
    assert answer["buttonResponse"] == {"type": "Button", "text": "Call me back", "payload": "callback"}
    assert answer["originatingMessageId"] == sent.id
    assert errors == []
    await context.close()
