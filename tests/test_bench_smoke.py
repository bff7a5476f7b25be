"""The benchmarks still run (tiny sizes), so they cannot rot between `make bench` runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_bench_smoke_run_writes_every_section(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    result = subprocess.run([sys.executable, "-W", "ignore", "-m", "bench.run", "--smoke", "--out", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    text = out.read_text()
    for heading in ("## 1. Webhook ingest", "## 2. Inbound sends", "## 3. Round trip", "## 4. Memory",
                    "## 5. Token economy"):
        assert heading in text
    assert re.search(r"\| runtime, memory store \| \d+ \|", text)
    assert re.search(r"\| runtime, sqlite store \| \d+ \|", text)
    assert "needed **1** token request(s)" in text
    # No request failed in any ingest run.
    assert all(line.rstrip("|").rsplit("|", 1)[-1].strip() == "0"
               for line in text.splitlines() if line.startswith("| runtime,") or line.startswith("| bare"))
