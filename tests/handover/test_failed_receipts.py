"""A Failed receipt about the user's message tells the user which message and why."""

from __future__ import annotations

from typing import Any

from extension.flows.session import SessionKey
from extension.providers.genesys_om.receipts import failed_notice, remember_sent
from extension.testing.emulator import EmulatorConfig

from stack import StackFactory, agent_message, genesys_user_id, post_signed, start_handover, texts
from support import eventually

KEY = SessionKey("support-bot", "u1", "s1")


def system_lines(events: list[dict[str, Any]]) -> list[str]:
    return [str(t) for t in texts(events, "system")]


async def test_the_user_hears_which_message_failed_and_why(make_stack: StackFactory) -> None:
    stack = await make_stack(emulator_config=EmulatorConfig(
        webhook_retry_delay=0.05, heartbeat_interval=0.5,
        inbound_receipt_failure={"code": "InvalidMediaContentLength", "message": "attachment too large"}))
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    await stack.say("here is my invoice")

    async def told() -> list[str]:
        return [line for line in system_lines(await stack.events()) if "here is my invoice" in line]

    [line] = await eventually(told, "the failure told to the user")
    assert line == "Your message \u201chere is my invoice\u201d could not be delivered to the agent, because the " \
                   "file is too large."


def failed_receipt(to_id: str, about: str, code: str = "RateLimited") -> dict[str, Any]:
    body = agent_message(to_id, "", message_id=about)
    body.pop("text", None)
    body.update(type="Receipt", status="Failed", reasons=[{"code": code, "message": "as Genesys says it"}],
                isFinalReceipt=True, direction="Inbound")
    return body


async def test_a_failed_receipt_is_told_once_and_one_about_no_message_of_the_user_is_not(
        make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    to_id = await genesys_user_id(stack)
    await stack.say("is anyone there")

    async def sent_id() -> str | None:
        doc = await stack.store.get_session(KEY.id)
        sent = (doc or {}).get("context", {}).get("genesysOM.sentMessages") or []
        return next((str(e["id"]) for e in sent if e["text"] == "is anyone there"), None)

    about = await eventually(sent_id, "the id Genesys gave the message")
    assert await post_signed(stack, failed_receipt(to_id, about)) == (200, {"status": "receipt"})
    # Genesys retries a webhook it got no answer to: told once.
    assert await post_signed(stack, failed_receipt(to_id, about)) == (200, {"status": "duplicate"})
    # About a message that is not one the outbox sent (the start's transcript, say): nothing to name.
    assert await post_signed(stack, failed_receipt(to_id, "not-a-user-message")) == (200, {"status": "receipt"})
    assert system_lines(await stack.events()) == [
        "Your message \u201cis anyone there\u201d could not be delivered to the agent, because too many messages "
        "were sent in a short time."]


def test_the_notice_names_the_message_and_a_reason_in_words() -> None:
    context: dict[str, Any] = {}
    remember_sent(context, "g-1", {"text": "a" * 100})
    remember_sent(context, "g-2", {"text": "", "attachments": [{"url": "https://x/y", "filename": "scan.pdf"}]})
    assert failed_notice(context, "g-1", [("Odd", "?"), ("MessageExpired", "")]) == (
        f"Your message \u201c{'a' * 60}\u2026\u201d could not be delivered to the agent, because it expired before it "
        "could be delivered.")
    assert failed_notice(context, "g-2", [("Mystery", "")]) == (
        "Your message \u201cscan.pdf\u201d could not be delivered to the agent, because of a problem on the contact "
        "centre's side.")
    for n in range(30):
        remember_sent(context, f"n-{n}", {"text": str(n)})
    assert len(context["genesysOM.sentMessages"]) == 20
