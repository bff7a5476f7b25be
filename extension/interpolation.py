"""`${NAME}` in the strings of a config: read from the environment, or one error per field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .validation import join_path

# Every `$` is one of these: `$$`, a complete `${NAME}`, or (no group) a mistake.
_DOLLAR = re.compile(r"\$(\$|\{[A-Za-z_][A-Za-z0-9_]*\})?")
# The text after a wrong `$` may be a secret typed as is: the error shows only the path.
MALFORMED = 'a "$" that does not start a complete ${NAME} must be written "$$"'


def interpolate(value: Any, env: Mapping[str, str], path: str, errors: dict[str, str]) -> Any:
    """Replace `${NAME}` in every string with the environment variable; `$$` is a literal `$`.

    A field that cannot be read gets one entry in `errors` (TOML path to message) and becomes "".
    """
    if isinstance(value, dict):
        return {k: interpolate(v, env, join_path(path, k), errors) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, join_path(path, i), errors) for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value
    problem = _problem(value, env)
    if problem is not None:
        errors[path] = f"{path}: {problem}"
        return ""
    return _DOLLAR.sub(lambda m: "$" if m.group(1) == "$" else env[m.group(1)[1:-1]], value)


def _problem(value: str, env: Mapping[str, str]) -> str | None:
    """The first thing that keeps `value` from being interpolated, if any."""
    for m in _DOLLAR.finditer(value):
        written = m.group(1)
        if written is None:
            return MALFORMED
        if written != "$" and written[1:-1] not in env:
            return f"environment variable {written[1:-1]} is not set"
    return None


def without_field_errors(errors: list[str], failed: Mapping[str, str]) -> list[str]:
    """`errors` less those about a field whose value could not be interpolated (already reported)."""
    def about_failed(line: str) -> bool:
        return any(line.startswith((f"{p}:", f"{p}.", f"{p}[")) for p in failed)

    return [line for line in errors if not about_failed(line)]
