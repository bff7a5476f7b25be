"""What the emulator received, kept for assertions in tests."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
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


@dataclass
class RequestLog:
    """Every request, in arrival order."""

    records: list[RequestRecord] = field(default_factory=list)

    def append(self, record: RequestRecord) -> None:
        """Keep one more request."""
        self.records.append(record)

    def matching(self, path: str = "*", method: str | None = None) -> list[RequestRecord]:
        """Requests whose path matches the glob (and method, when given)."""
        wanted = method.upper() if method else None
        return [
            r
            for r in self.records
            if fnmatch.fnmatchcase(r.path, path) and (wanted is None or r.method == wanted)
        ]

    def clear(self) -> None:
        """Forget everything received so far."""
        self.records.clear()
