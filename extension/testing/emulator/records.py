"""What the emulator received, kept for assertions in tests."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any


@dataclass
class RequestRecord:
    """One HTTP request the emulator received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any
    time: float
    correlation_id: str
    status: int | None = None  # the status answered, once known


class RequestLog(list[RequestRecord]):
    """Every request, in arrival order (the /emulator control routes are not kept)."""

    def matching(self, path: str = "*", method: str | None = None) -> list[RequestRecord]:
        """Requests whose path matches the glob (and method, when given)."""
        wanted = method.upper() if method else None
        return [
            r
            for r in self
            if fnmatch.fnmatchcase(r.path, path) and (wanted is None or r.method == wanted)
        ]
