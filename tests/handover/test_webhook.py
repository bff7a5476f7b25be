"""The webhook: signatures, dedup, unknown recipients, receipts, attachments, sizes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from extension.genesys.signature import sign
from extension.testing.emulator.config import DEFAULT_WEBHOOK_SECRET

from stack import WEBHOOK_URL, StackFactory, agent_message, genesys_user_id, post_signed, start_handover, texts
from support import eventually


async def test_duplicate_webhook_is_delivered_once(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    stack.emu.faults.duplicate_webhooks(1)
    await stack.emu.agent.reply(cid, "only once")
    stack.emu.faults.redeliver_webhook()

    def copies() -> list[object]:
        return [d for d in stack.emu.sent_webhooks(cid) if d.body.get("text") == "only once" and d.attempts]

    # The original, the duplicate and the redelivery all reach the runtime.
    await eventually(lambda: len(copies()) >= 3, "the three copies of the webhook sent")
    await stack.emu.settle()
    assert texts(await stack.events(), "agent").count("only once") == 1


async def test_bad_and_missing_signatures_are_refused(make_stack: StackFactory) -> None:
    stack = await make_stack()
    await start_handover(stack)
    to_id = await genesys_user_id(stack)
    body = agent_message(to_id, "forged")
    raw = json.dumps(body).encode()
    hex_sig = "sha256=" + hmac.new(DEFAULT_WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    good = sign(DEFAULT_WEBHOOK_SECRET, raw)
    for signature in ("", "sha256=", hex_sig, good[:-4], sign("another-secret-0123456789", raw),
                      "sha1=" + base64.b64encode(b"x" * 20).decode(), good.replace("sha256=", "")):
        status, answer = await post_signed(stack, raw, signature=signature)
        assert (status, answer) == (401, {"error": "invalid signature"}), signature
    other = agent_message(to_id, "forged")
    other["channel"]["id"] = "another-integration"
    status, _ = await post_signed(stack, other)
    assert status == 401
    # A valid signature over different bytes does not carry over.
    status, _ = await post_signed(stack, raw + b" ", signature=good)
    assert status == 401
    assert "forged" not in texts(await stack.events())
    status, _ = await post_signed(stack, body)
    assert status == 200
    assert "forged" in texts(await stack.events(), "agent")


async def test_unknown_recipient_gets_200_and_a_failed_receipt(make_stack: StackFactory) -> None:
    stack = await make_stack()
    await start_handover(stack)
    status, answer = await post_signed(stack, agent_message("h-nobody", message_id="m-unknown"))
    assert status == 200 and answer == {"status": "failed"}
    receipts = await eventually(lambda: [r for r in stack.emu.requests if r.path.endswith("/inbound/open/receipt")],
                                "a receipt sent")
    assert receipts[0].json["id"] == "m-unknown" and receipts[0].json["status"] == "Failed"
    assert receipts[0].json["reasons"][0]["code"] == "InvalidDestination"


async def test_delivered_receipt_system_messages_and_attachments(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.flow_message(cid, "Connected")
    await stack.emu.agent.accept(cid)
    await stack.emu.agent.reply(cid, "see this", attachments=[
        {"url": "https://api-downloads.mypurecloud.de/f/1", "mime": "image/png", "filename": "a.png",
         "mediaType": "Image"}], quick_replies=[{"text": "Yes", "payload": "yes"}, "No"])
    events = await stack.wait_for(lambda ev: "see this" in texts(ev, "agent"))
    system = [e for e in events if e["type"] == "output" and e["source"] == "system"]
    assert [e["text"] for e in system] == ["Connected"]
    agent = next(e for e in events if e.get("text") == "see this")
    assert agent["data"]["quickReplies"] == [{"title": "Yes", "payload": "yes"}, {"title": "No", "payload": "No"}]
    assert agent["data"]["attachments"] == [{"url": "https://api-downloads.mypurecloud.de/f/1", "mime": "image/png",
                                             "filename": "a.png", "mediaType": "Image"}]

    def delivered_receipts() -> list[Any] | None:
        found = [r.json for r in stack.emu.requests
                 if r.path.endswith("/inbound/open/receipt") and r.json["status"] == "Delivered"]
        return found if len(found) >= 2 else None

    delivered = await eventually(delivered_receipts, "two Delivered receipts sent")
    assert agent["id"] in {d["id"] for d in delivered}
    # The user's attachments go to the agent as inbound content.
    await stack.say(None, {"attachments": [{"url": "https://files.example.com/x.pdf", "mime": "application/pdf",
                                            "filename": "x.pdf"}]})

    def inbound_with_content() -> list[Any] | None:
        found = [r.json for r in stack.emu.requests if r.path.endswith("/inbound/open/message")]
        return found if "content" in found[-1] else None

    inbound = await eventually(inbound_with_content, "the attachment sent to the agent as inbound content")
    assert inbound[-1]["content"][0]["attachment"]["url"] == "https://files.example.com/x.pdf"


async def test_body_limits_and_non_json(make_stack: StackFactory) -> None:
    stack = await make_stack()
    resp = await stack.client.post(WEBHOOK_URL, data=b"x" * (1024 * 1024 + 1))
    assert resp.status == 413
    # The signature is checked on the raw bytes first: unsigned or wrongly signed, any body is 401.
    resp = await stack.client.post(WEBHOOK_URL, data=b"not json", headers={"X-Hub-Signature-256": "sha256=x"})
    assert resp.status == 401
    resp = await stack.client.post(WEBHOOK_URL, data=b"not json")
    assert resp.status == 401
    assert await post_signed(stack, b"not json") == (400, {"error": "the body is not valid JSON"})
    status, _ = await post_signed(stack, b"[1, 2]")
    assert status == 401


async def test_signed_but_odd_messages_are_accepted_and_ignored(make_stack: StackFactory) -> None:
    stack = await make_stack()
    await start_handover(stack)
    to_id = await genesys_user_id(stack)
    for body in (agent_message(to_id, message_id="m-x", type="Hologram"),
                 agent_message(to_id, message_id="m-y", extraField={"a": 1}),
                 {**agent_message(to_id, message_id="m-z"), "text": 42}):
        status, _ = await post_signed(stack, body)
        assert status == 200
    outputs = texts(await stack.events(), "agent")
    assert outputs == ["hello"]  # only the well-formed Text message with an unknown extra field


async def test_repeat_accepted_message_while_queued(make_stack: StackFactory) -> None:
    from handover.test_lifecycle import with_handover_config

    stack = await make_stack(flow=with_handover_config(repeatHandoverMessage=True))
    cid = await start_handover(stack)
    answer = await stack.say("are you there?")
    assert [o["text"] for o in answer["outputStack"]] == ["You are being connected to an agent."]
    await stack.emu.agent.accept(cid)
    await stack.wait_status("active")
    assert (await stack.say("now?"))["outputStack"] == []
