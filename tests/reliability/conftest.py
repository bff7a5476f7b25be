"""The reliability ledger: each fault scenario records what it injected and what was lost or doubled.

When every reliability test that ran passed, docs/RELIABILITY.md is written from the ledger, so the table
in the docs is always what the tests measured: a run of the whole folder rewrites it, a partial run (one
file, `-k`) replaces only the rows of the scenarios it ran.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .ledger import Ledger, full_run

DOC = Path(__file__).resolve().parents[2] / "docs" / "RELIABILITY.md"
_LEDGER = Ledger()


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    yield _LEDGER


HERE = Path(__file__).resolve().parent
_FILES_RUN: set[Path] = set()
_DESELECTED: list[int] = []


def pytest_deselected(items: list[pytest.Item]) -> None:
    _DESELECTED.append(sum(1 for item in items if Path(item.path).resolve().parent == HERE))


def pytest_collection_finish(session: pytest.Session) -> None:
    # After -k and -m deselection: the items that will really run.
    _LEDGER.collected = sum(1 for item in session.items if Path(item.path).resolve().parent == HERE)
    _FILES_RUN.update(Path(item.path).resolve() for item in session.items
                      if Path(item.path).resolve().parent == HERE)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and "tests/reliability/" in report.nodeid.replace("\\", "/"):
        _LEDGER.passed += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _LEDGER.rows and _LEDGER.collected and _LEDGER.passed == _LEDGER.collected:
        full = full_run(_FILES_RUN, sum(_DESELECTED), HERE)
        previous = None if full or not DOC.exists() else DOC.read_text()
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(_LEDGER.render(previous))
