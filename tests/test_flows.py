"""Flow semantics: each node type, the pointer, the input, profile, and atomic turns."""

from __future__ import annotations

from typing import Any

import pytest

from extension.flows.engine import Endpoint, FlowRuntimeError
from extension.flows.flow import parse_flow
from extension.flows.session import SessionKey
from extension.manifest import Manifest
from extension.sessions import Sessions, UserInput
from extension.store import MemoryStore
from extension.validation import DeclarationError


def make(manifest: Manifest, nodes: list[dict[str, Any]]) -> tuple[Sessions, Endpoint]:
    flow = parse_flow({"name": "t", "nodes": nodes}, "t.json", manifest)
    endpoint = Endpoint("bot", flow, "acme", "support")
    return Sessions(MemoryStore(), {"bot": endpoint}), endpoint


async def say(conv: Sessions, ep: Endpoint, text: str | None = None,
              data: dict[str, Any] | None = None, user: str = "u1") -> list[str | None]:
    events = await conv.handle_input(ep, UserInput(user, "s1", text, data))
    return [e["text"] for e in events if e["type"] == "output"]


async def test_say_and_wait_continue_below(manifest: Manifest) -> None:
    conv, ep = make(manifest, [
        {"id": "a", "type": "say", "config": {"text": "one"}},
        {"id": "w", "type": "waitForInput"},
        {"id": "b", "type": "say", "config": {"text": "two"}},
    ])
    assert await say(conv, ep, "hi") == ["one"]
    assert await say(conv, ep, "again") == ["two"]
    # The flow ended: the next input starts at the first node.
    assert await say(conv, ep, "more") == ["one"]


async def test_sessions_are_separate(manifest: Manifest) -> None:
    conv, ep = make(manifest, [
        {"id": "a", "type": "say", "config": {"text": "one"}},
        {"id": "w", "type": "waitForInput"},
        {"id": "b", "type": "say", "config": {"text": "two"}},
    ])
    assert await say(conv, ep, "x", user="u1") == ["one"]
    assert await say(conv, ep, "x", user="u2") == ["one"]
    assert await say(conv, ep, "x", user="u1") == ["two"]


async def test_wait_respects_next(manifest: Manifest) -> None:
    conv, ep = make(manifest, [
        {"id": "w", "type": "waitForInput", "next": "c"},
        {"id": "b", "type": "say", "config": {"text": "skipped"}},
        {"id": "c", "type": "say", "config": {"text": "target"}},
    ])
    assert await say(conv, ep, "x") == []
    assert await say(conv, ep, "y") == ["target"]


SWITCH = [
    {"id": "w", "type": "waitForInput"},
    {"id": "s", "type": "switch", "config": {
        "on": "input.text", "cases": {"yes": "y", "/^n(o|ope)$/i": "n"}, "default": "d"}},
    {"id": "fall", "type": "say", "config": {"text": "fell through"}, "next": "w"},
    {"id": "y", "type": "say", "config": {"text": "Y"}, "next": "w"},
    {"id": "n", "type": "say", "config": {"text": "N"}, "next": "w"},
    {"id": "d", "type": "say", "config": {"text": "D"}, "next": "w"},
]


@pytest.mark.parametrize(("text", "expected"), [("yes", "Y"), ("NOPE", "N"), ("No", "N"), ("maybe", "D"),
                                                ("Yes", "D"), (None, "D")])
async def test_switch_values_regex_and_default(manifest: Manifest, text: str | None, expected: str) -> None:
    conv, ep = make(manifest, SWITCH)
    await say(conv, ep, "start")
    assert await say(conv, ep, text) == [expected]


async def test_switch_without_default_continues_below(manifest: Manifest) -> None:
    nodes = [dict(n) for n in SWITCH]
    nodes[1] = {"id": "s", "type": "switch", "config": {"on": "input.data.choice", "cases": {"1": "y"}}}
    conv, ep = make(manifest, nodes)
    await say(conv, ep, "start")
    assert await say(conv, ep, None, {"choice": 1}) == ["Y"]
    assert await say(conv, ep, None, {"choice": 2}) == ["fell through"]


async def test_goto_and_templating(manifest: Manifest) -> None:
    conv, ep = make(manifest, [
        {"id": "w", "type": "waitForInput"},
        {"id": "e", "type": "say", "config": {"text": "You said: {{input.text}} / {{ input.data.n }}"}},
        {"id": "g", "type": "goTo", "config": {"target": "w"}},
        {"id": "never", "type": "say", "config": {"text": "never"}},
    ])
    await say(conv, ep, "start")
    assert await say(conv, ep, "hello", {"n": 3}) == ["You said: hello / 3"]
    assert await say(conv, ep, "again") == ["You said: again / "]


async def test_say_data_is_passed_through(manifest: Manifest) -> None:
    conv, ep = make(manifest, [{"id": "a", "type": "say", "config": {"text": "", "data": {"quickReplies": [1]}}}])
    events = await conv.handle_input(ep, UserInput("u", "s"))
    assert events[0]["text"] is None and events[0]["data"] == {"quickReplies": [1]}
    assert events[0]["source"] == "bot" and events[0]["seq"] == 1 and events[0]["id"] and events[0]["time"]


async def test_profile_from_data_is_kept_and_shown(manifest: Manifest) -> None:
    conv, ep = make(manifest, [
        {"id": "w", "type": "waitForInput"},
        {"id": "a", "type": "say", "config": {"text": "{{input.profile.firstName}} {{input.profile.email}}"}},
        {"id": "g", "type": "goTo", "config": {"target": "w"}},
    ])
    await say(conv, ep, None, {"profile": {"firstName": "Jane", "email": "j@x.io", "age": 3, "lastName": 7}})
    assert await say(conv, ep, "hi") == ["Jane j@x.io"]
    session = await conv.load_session(SessionKey("bot", "u1", "s1"))
    assert session.profile == {"firstName": "Jane", "email": "j@x.io"}


async def test_handover_nodes_end_at_once_with_error_unsupported(manifest: Manifest) -> None:
    conv, ep = make(manifest, [
        {"id": "h", "type": "handoverToAgent"},
        {"id": "s", "type": "switch", "config": {"on": "input.handover.status", "cases": {"error": "e"}}},
        {"id": "other", "type": "say", "config": {"text": "other"}},
        {"id": "e", "type": "say", "config": {"text": "error {{input.handover.reason}}"}},
    ])
    events = await conv.handle_input(ep, UserInput("u", "s", "agent"))
    assert [e["type"] for e in events] == ["handover", "output"]
    assert events[0]["status"] == "error" and events[0]["reason"] == "unsupported"
    assert events[1]["text"] == "error unsupported"


async def test_a_loop_without_wait_fails_and_changes_nothing(manifest: Manifest) -> None:
    conv, ep = make(manifest, [
        {"id": "a", "type": "say", "config": {"text": "one"}},
        {"id": "w", "type": "waitForInput"},
        {"id": "x", "type": "say", "config": {"text": "spin"}},
        {"id": "g", "type": "goTo", "config": {"target": "x"}},
    ])
    await say(conv, ep, "start")
    key = SessionKey("bot", "u1", "s1")
    before = await conv.store.get_session(key.id)
    with pytest.raises(FlowRuntimeError):
        await say(conv, ep, "loop")
    assert await conv.store.get_session(key.id) == before
    assert len(await conv.store.read_events(key.id)) == 1


async def test_context_is_kept_between_turns(manifest: Manifest) -> None:
    from extension.flows.engine import NodeApi

    seen: list[Any] = []

    def counter(api: NodeApi, config: dict[str, Any]) -> None:
        api.set("n", api.get("n", 0) + 1)
        seen.append(api.get("n"))
        api.wait()

    conv, ep = make(manifest, [{"id": "w", "type": "waitForInput"}])
    node = ep.flow.nodes[0]
    object.__setattr__(node, "function", counter)
    for _ in range(3):
        await say(conv, ep, "x")
    assert seen == [1, 2, 3]


def _switch(cases: dict[str, str]) -> list[dict[str, Any]]:
    return [{"id": "s", "type": "switch", "config": {"on": "input.text", "cases": cases}},
            {"id": "y", "type": "say", "config": {"text": "Y"}}]


@pytest.mark.parametrize(("case", "problem"), [
    ("/[unclosed/i", "invalid regular expression"),
    ("/(a/", "invalid regular expression"),
    ("/a**/", "invalid regular expression"),
    ("/agent/q", "unknown regular expression flag(s) 'q' (use i, m, s or x)"),
    ("/agent/iu", "unknown regular expression flag(s) 'u'"),
    ("/x/", None),
    ("/agent/imsx", None),
    ("//", None),
    ("/help", None),  # a plain value: no closing slash
    ("a/b/c", None),
])
def test_a_malformed_switch_regex_refuses_the_flow(manifest: Manifest, case: str, problem: str | None) -> None:
    if problem is None:
        parse_flow({"name": "t", "nodes": _switch({case: "y"})}, "t.json", manifest)
        return
    with pytest.raises(DeclarationError) as info:
        parse_flow({"name": "t", "nodes": _switch({"ok": "y", case: "y"})}, "t.json", manifest)
    errors = info.value.errors
    assert len(errors) == 1 and errors[0].startswith(f"t.json: node 's' (switch): field cases.{case}: {problem}"), \
        errors


async def test_plain_cases_that_look_like_paths_are_values(manifest: Manifest) -> None:
    conv, ep = make(manifest, [
        {"id": "w", "type": "waitForInput"},
        {"id": "s", "type": "switch", "config": {"on": "input.text", "cases": {"/help": "y", "a/b/c": "p"}}},
        {"id": "n", "type": "say", "config": {"text": "N"}, "next": "w"},
        {"id": "y", "type": "say", "config": {"text": "Y"}, "next": "w"},
        {"id": "p", "type": "say", "config": {"text": "P"}, "next": "w"},
    ])
    await say(conv, ep, "start")
    assert await say(conv, ep, "/help") == ["Y"]
    assert await say(conv, ep, "a/b/c") == ["P"]
    assert await say(conv, ep, "/HELP") == ["N"]


# Kept off the raising line: the logged traceback shows source lines, never exception texts.
PRIVATE = "redis://:hunter2@10.0.0.5 refused"


class BrokenStore(RuntimeError):
    """Stands for a store or client error whose text carries something private."""


async def test_a_failing_node_is_a_flow_error_and_changes_nothing(
    manifest: Manifest, caplog: pytest.LogCaptureFixture
) -> None:
    from extension.flows.engine import NodeApi

    conv, ep = make(manifest, [
        {"id": "a", "type": "say", "config": {"text": "one"}},
        {"id": "w", "type": "waitForInput"},
        {"id": "b", "type": "say", "config": {"text": "two"}},
        {"id": "boom", "type": "say", "config": {"text": "never"}},
    ])

    async def boom(api: NodeApi, config: dict[str, Any]) -> None:
        api.set("half", "applied")
        raise BrokenStore(PRIVATE)

    object.__setattr__(ep.flow.nodes[3], "function", boom)
    await say(conv, ep, "start")
    key = SessionKey("bot", "u1", "s1")
    before = await conv.store.get_session(key.id)
    with pytest.raises(FlowRuntimeError) as info:
        await say(conv, ep, "go")
    assert str(info.value) == "node 'boom' (say) failed: BrokenStore"
    assert isinstance(info.value.__cause__, BrokenStore)
    assert await conv.store.get_session(key.id) == before
    assert [e["text"] for e in await conv.store.read_events(key.id)] == ["one"]
    # The operator sees where it failed, never the text of the exception.
    assert "BrokenStore" in caplog.text and "in boom" in caplog.text
    assert "hunter2" not in caplog.text


async def test_a_failing_sync_node_is_a_flow_error(manifest: Manifest) -> None:
    from extension.flows.engine import NodeApi

    conv, ep = make(manifest, [{"id": "x", "type": "say", "config": {"text": "x"}}])

    def boom(api: NodeApi, config: dict[str, Any]) -> None:
        raise KeyError("private")

    object.__setattr__(ep.flow.nodes[0], "function", boom)
    with pytest.raises(FlowRuntimeError, match=r"^node 'x' \(say\) failed: KeyError$"):
        await say(conv, ep, "go")
