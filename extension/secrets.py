"""A string that never shows itself in a repr, a log line or an error."""

from __future__ import annotations

import hmac

MASK = "***"


class Secret:
    """Holds a secret value; only `reveal()` gives it back."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the clear value, for the one call that needs it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __len__(self) -> int:
        return len(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return same_secret(self._value, other._value)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret is not serialisable")


def same_secret(expected: str, presented: str) -> bool:
    """Constant-time comparison of two strings, whatever they hold.

    Header values carry any byte (aiohttp keeps the ones that are not UTF-8 as surrogates), and
    `hmac.compare_digest` raises on non-ASCII text: both sides are compared as bytes instead.
    """
    return hmac.compare_digest(expected.encode("utf-8", "surrogateescape"),
                               presented.encode("utf-8", "surrogateescape"))
