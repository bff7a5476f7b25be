"""User attachments during a handover: each with a MIME type, one per inbound message, in order."""

from __future__ import annotations

from extension.providers.genesys_om.state import HandoverState

from stack import Stack, StackFactory, start_handover, wait_inbound

FILES = "https://files.example"


def sent_attachments(stack: Stack, cid: str) -> list[tuple[str | None, list[dict[str, object]]]]:
    """(text, attachments) of every inbound message the emulator accepted for `cid`, in order."""
    return [(m.text, [c["attachment"] for c in m.content]) for m in stack.emu.inbound_messages(cid)]


async def test_several_attachments_go_as_several_messages_each_with_a_mime(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    before = len(stack.emu.inbound_messages(cid))
    await stack.say("my files", data={"attachments": [
        {"url": f"{FILES}/photo.png", "filename": "photo.png"},
        {"url": f"{FILES}/report", "filename": "report.pdf"},
        {"url": f"{FILES}/blob"},
        {"url": f"{FILES}/clip", "type": "video/mp4"},
    ]})
    await wait_inbound(stack, cid, ["my files", None, None, None])

    sent = sent_attachments(stack, cid)[before:]
    assert sent == [
        ("my files", [{"mediaType": "Image", "url": f"{FILES}/photo.png", "mime": "image/png",
                       "filename": "photo.png"}]),
        (None, [{"mediaType": "File", "url": f"{FILES}/report", "mime": "application/pdf",
                 "filename": "report.pdf"}]),
        (None, [{"mediaType": "File", "url": f"{FILES}/blob", "mime": "application/octet-stream"}]),
        (None, [{"mediaType": "Video", "url": f"{FILES}/clip", "mime": "video/mp4"}]),
    ]
    ids = [m.message_id for m in stack.emu.inbound_messages(cid)[before:]]
    assert len(set(ids)) == 4 and not any(m.duplicate for m in stack.emu.inbound_messages(cid))


async def test_an_attachment_without_text_after_a_long_text_rides_on_its_last_piece(
    make_stack: StackFactory
) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    await stack.emu.agent.accept(cid)
    before = len(stack.emu.inbound_messages(cid))
    long_text = "word " * 1000  # 5000 characters: two pieces
    await stack.say(long_text, data={"attachments": [{"url": f"{FILES}/a.txt"}, {"url": f"{FILES}/b.jpg"}]})
    await wait_inbound(stack, cid, [None])
    sent = sent_attachments(stack, cid)[before:]
    assert [len(text or "") > 0 for text, _ in sent] == [True, True, False]
    assert [[a["mime"] for a in attachments] for _, attachments in sent] == [[], ["text/plain"], ["image/jpeg"]]


def test_an_outbox_stored_with_several_attachments_per_item_is_read_one_per_item() -> None:
    # Stored by an earlier version, which put every file of a user message on one item.
    a, b, c = ({"url": f"{FILES}/{n}", "mediaType": "File", "mime": "text/plain", "filename": n}
               for n in ("a.txt", "b.txt", "c.txt"))
    stored = HandoverState("support", "h-1", "c-1", "i-1", "q-1", "Support", outbox=[
        {"messageId": "h-1-1", "text": "files", "attachments": [a, b, c], "queuedAt": 5.0},
        {"messageId": "h-1-2", "text": "next", "attachments": [], "queuedAt": 6.0},
    ]).to_doc()
    read = HandoverState.from_doc(stored)
    assert read is not None
    assert [(i["messageId"], i["text"], i["attachments"]) for i in read.outbox] == [
        ("h-1-1", "files", [a]), ("h-1-1.2", "", [b]), ("h-1-1.3", "", [c]), ("h-1-2", "next", []),
    ]
    again = HandoverState.from_doc(stored)
    assert again is not None and [i["messageId"] for i in again.outbox] == [i["messageId"] for i in read.outbox]
