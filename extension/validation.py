"""Turns marshmallow error dicts into readable one-line errors naming the path."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from typing import Any


class DeclarationError(Exception):
    """Something declared (manifest, descriptor, flow, config) is malformed; lists every error."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


def join_path(prefix: str, key: object) -> str:
    """Append a key to a dotted path; list indexes render as [N]."""
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    if key == "_schema" or not prefix:
        return prefix if key == "_schema" else str(key)
    return f"{prefix}.{key}"


def flatten_errors(messages: Any, prefix: str = "") -> list[str]:
    """Flatten a marshmallow `messages` structure into `path: message` strings."""
    out: list[str] = []
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            out.extend(flatten_errors(value, join_path(prefix, key)))
    elif isinstance(messages, list | tuple):
        for item in messages:
            out.extend(flatten_errors(item, prefix))
    else:
        out.append(f"{prefix}: {messages}" if prefix else str(messages))
    return out


def unknown_keys(table: Mapping[str, Any], known: Collection[str], path: str) -> tuple[list[str], set[str]]:
    """One error per key of `table` outside `known`, with the closest known key when one is close.

    Also returns the suggested keys, so that "Missing data" for the key meant is not reported too.
    """
    errors: list[str] = []
    suggested: set[str] = set()
    for key in table:
        if key in known:
            continue
        close = difflib.get_close_matches(str(key), [k for k in known if k not in table], n=1)
        if close:
            suggested.add(close[0])
            errors.append(f"{join_path(path, key)}: unknown key; did you mean {close[0]!r}?")
        else:
            errors.append(f"{join_path(path, key)}: unknown key (known: {', '.join(sorted(known))})")
    return errors, suggested
