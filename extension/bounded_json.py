"""JSON from outside, parsed with a bound on nesting: a deep document is refused before it is parsed."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

# Far deeper than any message, event or webhook needs, far from Python's recursion limit (which
# `json.loads` and `json.dumps` hit at about 1000 levels).
MAX_DEPTH = 64
# Strings (whose brackets do not count), then every bracket outside them.
_STRINGS = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class TooDeep(ValueError):
    """The document nests arrays and objects deeper than allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the JSON nests deeper than {limit} levels")
        self.limit = limit


def depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in `raw` (brackets inside strings do not count)."""
    brackets = b"".join(_BRACKETS.findall(_STRINGS.sub(b"", raw)))
    return max(accumulate(_STEP[b] for b in brackets), default=0)


def loads(raw: bytes | bytearray | str, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads`, refusing a document nested deeper than `max_depth` (TooDeep, a ValueError)."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if data.count(b"[") + data.count(b"{") > max_depth and depth(data) > max_depth:
        raise TooDeep(max_depth)
    return json.loads(raw)
