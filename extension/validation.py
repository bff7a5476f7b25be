"""Turns marshmallow error dicts into readable one-line errors naming the path."""

from __future__ import annotations

from collections.abc import Mapping
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
