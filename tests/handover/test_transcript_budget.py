"""The transcript sent at a handover's start: the newest messages within a budget of messages and characters."""

from __future__ import annotations

from extension.flows.session import TRANSCRIPT_CHARS, Session, SessionKey
from extension.providers.genesys_om.transcript import CUT_MARK, TranscriptBudget, transcript_messages, within_budget

from stack import StackFactory, start_handover


def entries(count: int, size: int = 10) -> list[dict[str, object]]:
    return [{"role": "user" if i % 2 else "bot", "text": f"m{i:03d} " + "x" * (size - 5), "time": 0}
            for i in range(count)]


def test_the_newest_messages_are_kept_within_the_message_budget() -> None:
    kept, left_out = within_budget(entries(10), TranscriptBudget(max_messages=3, max_chars=10000))
    assert [str(e["text"])[:4] for e in kept] == ["m007", "m008", "m009"] and left_out == 7


def test_the_newest_messages_are_kept_within_the_character_budget() -> None:
    kept, left_out = within_budget(entries(10, size=100), TranscriptBudget(max_messages=50, max_chars=350))
    assert [str(e["text"])[:4] for e in kept] == ["m007", "m008", "m009"] and left_out == 7


def test_a_newest_message_over_the_whole_budget_keeps_its_beginning() -> None:
    kept, left_out = within_budget(entries(3, size=5000), TranscriptBudget(max_messages=50, max_chars=1000))
    assert len(kept) == 1 and left_out == 2
    text = str(kept[0]["text"])
    assert text.startswith("m002") and text.endswith(CUT_MARK) and len(text) == 1000


def test_a_session_keeps_the_newest_messages_within_its_character_bound() -> None:
    session = Session(SessionKey("support-bot", "u1", "s1"))
    for i in range(30):
        session.record("user", f"paste {i:02d} " + "p" * 9990)
    assert sum(len(e["text"]) for e in session.transcript) <= TRANSCRIPT_CHARS
    assert [e["text"][:8] for e in session.transcript][-1] == "paste 29" and len(session.transcript) == 10
    session.record("user", "q" * (TRANSCRIPT_CHARS + 5))  # the newest is kept whole, even alone over
    assert len(session.transcript) == 1


def test_the_messages_say_how_many_were_left_out() -> None:
    messages = transcript_messages(entries(10), budget=TranscriptBudget(max_messages=3))
    assert messages[0].splitlines()[1] == "(7 earlier messages left out)"
    assert "m006" not in "".join(messages) and "m009" in messages[-1]
    assert "left out" not in "".join(transcript_messages(entries(3)))


async def test_a_handover_after_a_flood_sends_a_bounded_transcript(make_stack: StackFactory) -> None:
    stack = await make_stack()
    for i in range(20):
        await stack.say(f"paste {i} " + "p" * 9000)
    cid = await start_handover(stack)
    inbound = [m.text or "" for m in stack.emu.inbound_messages(cid)]
    # 20 x 9,000 characters (and their echoes) would be about 90 messages; the default budget of
    # 20,000 characters sends a handful (pieces of split lines do not fill messages exactly).
    assert len(inbound) <= 20000 // 4000 + 3
    joined = "\n".join(inbound)
    assert "earlier messages left out" in inbound[0]
    assert "Customer: I want an agent" in joined and "paste 0 " not in joined
    assert sum(len(m) for m in inbound) < 22000


async def test_the_budget_is_read_from_the_handover_settings(make_stack: StackFactory) -> None:
    stack = await make_stack(extra="transcript_max_messages = 3\ntranscript_max_chars = 500\n")
    for i in range(5):
        await stack.say(f"line {i}")
    cid = await start_handover(stack)
    first = stack.emu.inbound_messages(cid)[0].text or ""
    assert "earlier messages left out" in first
    assert "line 0" not in first and "Customer: I want an agent" in first
    assert first.count("\n[") == 3
