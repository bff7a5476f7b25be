"""Running the doctor and printing its checklist, for people or (with --json) for scripts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import aiohttp

from ..manifest import Manifest, load_manifest
from .checks import FAIL, PASS, SKIP, Check
from .diagnosis import diagnose
from .loading import load_for_doctor

MARKS = {PASS: "ok  ", FAIL: "FAIL", SKIP: "skip"}


async def run_doctor(path: Path, *, connection: str | None = None, env: Mapping[str, str] | None = None,
                     manifest: Manifest | None = None) -> list[Check]:
    """Every check for the config at `path`; ConfigError when the file cannot be used at all."""
    config = load_for_doctor(path, manifest or load_manifest(), env, connection)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:
        return await diagnose(config, session)


def passed(checks: Sequence[Check]) -> bool:
    """Exit status 0 only when every check passed."""
    return all(c.status == PASS for c in checks)


def render_text(path: Path, checks: Sequence[Check]) -> str:
    """The checklist, one line per check and a `fix:` line under each failure."""
    lines = [f"genesys-om doctor: {path}", ""]
    group: object = object()
    for check in checks:
        if check.connection != group:
            group = check.connection
            if check.connection is not None:
                lines += ["", f"connection {check.connection!r}"]
        lines.append(f"  {MARKS[check.status]}  {check.title}: {check.detail}")
        if check.hint:
            lines.append(f"        fix: {check.hint}")
    counts = {status: sum(c.status == status for c in checks) for status in (PASS, FAIL, SKIP)}
    verdict = "all checks passed" if passed(checks) else "the setup needs fixing"
    lines += ["", f"Result: {verdict} ({counts[PASS]} of {len(checks)} checks pass, {counts[FAIL]} fail, "
                  f"{counts[SKIP]} not checked)."]
    return "\n".join(lines)


def render_json(path: Path, checks: Sequence[Check]) -> str:
    """`{"config", "ok", "checks": [{"id", "connection", "title", "status", "detail", "hint"}]}`."""
    return json.dumps({
        "config": str(path), "ok": passed(checks),
        "checks": [{"id": c.id, "connection": c.connection, "title": c.title, "status": c.status,
                    "detail": c.detail, "hint": c.hint} for c in checks],
    }, indent=2)
