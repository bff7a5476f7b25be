"""Log output: text or JSON lines, and the access log that never shows a session token.

`--log-format json` writes one object per line with `time`, `level`, `logger`, `message` and the
context fields a line carries (`extra=`: the session, connection and conversation of a handover
transition, a failure count). The access log (`[server] access_log = true`) logs each request's
method, path, status, size and duration; a `sessionToken` or `auth` query value is replaced by
`REDACTED`, and no header is logged at all (Authorization and X-Session-Token included).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from yarl import URL

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")
# The query parameters that carry a credential: a session token, a Copilot link's token.
SECRET_QUERY = frozenset({"sessionToken", "auth"})
REDACTED = "REDACTED"
# What every LogRecord has; anything else on a record came with `extra=` and is a context field.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in record.__dict__.items():
            if name not in _STANDARD and name not in line:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure(level: str, fmt: str = "text") -> None:
    """Log to stderr at `level` in `fmt` (text or json)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def redacted(url: URL) -> str:
    """The path and query of a request, credential values replaced."""
    if not any(name in SECRET_QUERY for name in url.query):
        return url.raw_path_qs
    query = [(k, REDACTED if k in SECRET_QUERY else v) for k, v in url.query.items()]
    return str(URL.build(path=url.raw_path, encoded=True).with_query(query))


class AccessLogger(AbstractAccessLogger):
    """`METHOD /path?query STATUS BYTES SECONDS` per request, credentials redacted, no headers."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, duration: float) -> None:
        path = redacted(request.rel_url)
        self.logger.info("%s %s %s %s %.3fs", request.method, path, response.status, response.body_length,
                         duration, extra={"method": request.method, "path": path, "status": response.status,
                                          "bytes": response.body_length, "seconds": round(duration, 4),
                                          "remote": request.remote})
