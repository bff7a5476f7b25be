"""Inbound wire bodies and text splitting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from extension.genesys.messages import (
    Attachment,
    delivery_receipt,
    inbound_text,
    inbound_typing,
    split_text,
    wire_time,
)

WHEN = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)


def test_inbound_text_matches_the_documented_body() -> None:
    body = inbound_text(
        "m-0001", "h-7f3a", "I would like to talk to a person.", time=WHEN,
        custom_attributes={"sessionId": "s-1", "queue": "Support"},
        first_name="Jane", last_name="Doe", nickname="Jane Doe",
    )
    assert body == {
        "channel": {
            "messageId": "m-0001",
            "from": {"id": "h-7f3a", "idType": "Opaque", "nickname": "Jane Doe",
                     "firstName": "Jane", "lastName": "Doe"},
            "time": "2026-01-15T10:00:00.000Z",
            "metadata": {"customAttributes": {"sessionId": "s-1", "queue": "Support"}},
        },
        "text": "I would like to talk to a person.",
    }


def test_inbound_text_leaves_out_what_was_not_given() -> None:
    assert inbound_text("m-1", "h-1", "hi", time=WHEN) == {
        "channel": {"messageId": "m-1", "from": {"id": "h-1", "idType": "Opaque"},
                    "time": "2026-01-15T10:00:00.000Z"},
        "text": "hi",
    }


def test_inbound_text_with_email_and_id_type() -> None:
    body = inbound_text("m-1", "jane@example.com", "hi", time=WHEN, email="jane@example.com",
                        id_type="Email")
    assert body["channel"]["from"] == {"id": "jane@example.com", "idType": "Email",
                                       "email": "jane@example.com"}


def test_an_attachment_becomes_content() -> None:
    body = inbound_text("m-1", "h-1", "", time=WHEN,
                        attachment=Attachment("https://files.example/a.png", "Image", "image/png", "a.png"))
    assert "text" not in body
    assert body["content"] == [
        {"contentType": "Attachment", "attachment": {
            "mediaType": "Image", "url": "https://files.example/a.png", "mime": "image/png",
            "filename": "a.png"}},
    ]


@pytest.mark.parametrize(
    ("attachment", "media_type", "mime"),
    [
        (Attachment("https://files.example/b"), "File", "application/octet-stream"),
        (Attachment("https://files.example/b", filename="scan.PDF"), "File", "application/pdf"),
        (Attachment("https://files.example/photos/cat.jpeg?size=2"), "Image", "image/jpeg"),
        (Attachment("https://files.example/x", filename="song.mp3"), "Audio", "audio/mpeg"),
        (Attachment("https://files.example/x.png", mime="Video/MP4"), "Video", "video/mp4"),
        (Attachment("https://files.example/x.png", media_type="Link"), "Link", "image/png"),
    ],
)
def test_an_attachment_always_carries_a_mime(attachment: Attachment, media_type: str, mime: str) -> None:
    sent = inbound_text("m-1", "h-1", "", time=WHEN, attachment=attachment)["content"][0]["attachment"]
    assert (sent["mediaType"], sent["mime"]) == (media_type, mime)


@pytest.mark.parametrize(
    ("attachment", "fragment"),
    [
        (Attachment(""), "needs a url"),
        (Attachment("https://files.example/a", mime="png"), "MIME type such as image/png, not 'png'"),
        (Attachment("https://files.example/a", media_type="Gif"), "mediaType must be one of"),
    ],
)
def test_a_bad_attachment_is_refused_saying_why(attachment: Attachment, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        inbound_text("m-1", "h-1", "", attachment=attachment)


def test_custom_attributes_are_flattened_to_strings() -> None:
    body = inbound_text("m-1", "h-1", "hi", time=WHEN, custom_attributes={
        "count": 3, "ratio": 0.5, "vip": True, "gone": None, "name": "Jane"})
    assert body["channel"]["metadata"]["customAttributes"] == {
        "count": "3", "ratio": "0.5", "vip": "true", "name": "Jane"}


@pytest.mark.parametrize("value", [{"nested": "x"}, ["a"], b"raw"])
def test_nested_custom_attributes_are_refused(value: object) -> None:
    # Genesys answers 400 to a nested object; better to fail here, naming the key.
    with pytest.raises(ValueError, match="bad"):
        inbound_text("m-1", "h-1", "hi", custom_attributes={"bad": value})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"message_id": "", "from_id": "h", "text": "x"},
        {"message_id": "m", "from_id": "", "text": "x"},
        {"message_id": "m", "from_id": "h", "text": ""},
        {"message_id": "m", "from_id": "h", "text": "x", "id_type": "Twitter"},
        {"message_id": "m", "from_id": "h", "text": "x",
         "attachment": Attachment("https://x", "Sticker")},
        {"message_id": "m", "from_id": "h", "text": "x", "attachment": Attachment("")},
    ],
)
def test_inbound_text_refuses_bodies_genesys_would_refuse(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        inbound_text(**kwargs)  # type: ignore[arg-type]


def test_inbound_typing_body() -> None:
    assert inbound_typing("h-1", time=WHEN) == {
        "channel": {"from": {"id": "h-1", "idType": "Opaque"},
                    "time": "2026-01-15T10:00:00.000Z"},
        "events": [{"eventType": "Typing"}],
    }


def test_delivery_receipt_body() -> None:
    assert delivery_receipt("w-1", "h-1", "Failed", [("GeneralError", "user gone")],
                            time=WHEN) == {
        "id": "w-1",
        "channel": {"to": {"id": "h-1", "idType": "Opaque"}, "time": "2026-01-15T10:00:00.000Z"},
        "status": "Failed",
        "isFinalReceipt": True,
        "reasons": [{"code": "GeneralError", "message": "user gone"}],
    }
    assert "reasons" not in delivery_receipt("w-1", "h-1", "Delivered", time=WHEN)


@pytest.mark.parametrize("status", ["Read", "delivered", "Sent", ""])
def test_delivery_receipt_refuses_other_statuses(status: str) -> None:
    with pytest.raises(ValueError):
        delivery_receipt("w-1", "h-1", status)


def test_wire_time_is_utc_with_milliseconds() -> None:
    berlin = timezone(timedelta(hours=1))
    assert wire_time(datetime(2026, 1, 15, 11, 0, 5, 427999, tzinfo=berlin)) == \
        "2026-01-15T10:00:05.427Z"
    now = wire_time()
    assert now.endswith("Z") and len(now) == len("2026-01-15T10:00:05.427Z")


def test_short_text_is_one_piece() -> None:
    assert split_text("hello world") == ["hello world"]
    assert split_text("") == []


def test_long_text_is_cut_at_whitespace() -> None:
    text = "alpha beta gamma delta epsilon"
    pieces = split_text(text, limit=12)
    assert pieces == ["alpha beta", "gamma delta", "epsilon"]


def test_every_piece_fits_and_no_word_is_lost() -> None:
    words = [f"w{i}" * (1 + i % 7) for i in range(3000)]
    text = " ".join(words)
    pieces = split_text(text)
    assert len(pieces) > 1
    assert all(len(p) <= 4000 for p in pieces)
    assert " ".join(pieces).split() == words


def test_line_breaks_inside_a_piece_are_kept() -> None:
    assert split_text("line one\nline two\n\nline three", limit=18) == [
        "line one\nline two", "line three"]


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    assert split_text("abcdefghij xyz", limit=4) == ["abcd", "efgh", "ij", "xyz"]


def test_length_counts_utf16_units_so_emoji_never_overflow() -> None:
    pieces = split_text("😀" * 5, limit=4)
    assert pieces == ["😀😀", "😀😀", "😀"]


def test_a_nonsense_limit_is_refused() -> None:
    with pytest.raises(ValueError):
        split_text("x", limit=0)
