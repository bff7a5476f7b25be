"""The generic node types: say, waitForInput, switch, goTo."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .engine import NodeApi
from .flow import checks_config

_MISSING = object()


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


def render(template: str, api: NodeApi) -> str:
    """Fill `{{input.text}}`-style placeholders from the input and `{{context.x}}` from the session."""

    def value(m: re.Match[str]) -> str:
        path = m.group(1)
        root, _, rest = path.partition(".")
        if root == "context" and rest:
            return _as_text(lookup(rest, {k: api.get(k) for k in [rest.split(".")[0]]}))
        return _as_text(lookup(path, {"input": api.input}))

    return _PLACEHOLDER.sub(value, template)


def say(api: NodeApi, config: dict[str, Any]) -> None:
    """Emit a bot output; `{{input.text}}` and `{{context.name}}` placeholders are filled in."""
    text = config.get("text") or None
    api.output(render(text, api) if text else None, config.get("data"))


def wait_for_input(api: NodeApi, config: dict[str, Any]) -> None:
    """Stop; the next input continues below."""
    api.wait()


def go_to(api: NodeApi, config: dict[str, Any]) -> None:
    """Continue at the target node."""
    api.goto(config["target"])


def lookup(path: str, scope: dict[str, Any]) -> Any:
    """Resolve a dotted path such as `input.data.x`; missing parts give _MISSING."""
    value: Any = scope
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


# A case of the form `/pattern/letters` is a regex; anything else is compared as a plain value.
_REGEX_CASE = re.compile(r"/(.*)/([A-Za-z]*)", re.DOTALL)
_FLAGS = {"i": re.I, "m": re.M, "s": re.S, "x": re.X}


@lru_cache(maxsize=512)
def case_regex(case: str) -> re.Pattern[str] | None:
    """`/pattern/flags` compiled, None for a plain value; ValueError when pattern or flags are malformed."""
    m = _REGEX_CASE.fullmatch(case)
    if not m:
        return None
    unknown = sorted(set(m.group(2)) - set(_FLAGS))
    if unknown:
        raise ValueError(f"unknown regular expression flag(s) {''.join(unknown)!r} (use i, m, s or x)")
    flags = 0
    for ch in m.group(2):
        flags |= _FLAGS[ch]
    try:
        return re.compile(m.group(1), flags)
    except re.error as exc:
        raise ValueError(f"invalid regular expression ({exc})") from None


def check_switch(config: dict[str, Any]) -> list[tuple[str, str]]:
    """Refuse a flow whose regex case would otherwise be compared as a literal."""
    problems: list[tuple[str, str]] = []
    for case in config.get("cases") or {}:
        try:
            case_regex(case)
        except ValueError as exc:
            problems.append((f"cases.{case}", str(exc)))
    return problems


def _as_text(value: Any) -> str:
    if value is None or value is _MISSING:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@checks_config(check_switch)
def switch(api: NodeApi, config: dict[str, Any]) -> None:
    """Continue at the first case matching the value at `on`, else `default`, else below."""
    value = _as_text(lookup(config["on"], {"input": api.input}))
    for case, target in config["cases"].items():
        regex = case_regex(case)
        if (regex.search(value) is not None) if regex else case == value:
            api.goto(target)
            return
    if config.get("default"):
        api.goto(config["default"])
