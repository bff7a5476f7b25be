"""What a request may take: the body size, how long a body may take to arrive, how many at once."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_BODY = 1024 * 1024


@dataclass
class BodyReading:
    """How long a body may take to arrive, and how many may be arriving at once."""

    timeout_seconds: float = 30.0
    max_pending: int = 256
    pending: int = field(default=0)
