"""The docs table: a partial run keeps the rows of scenarios it did not run; a full run rewrites it."""

from __future__ import annotations

from pathlib import Path

from .ledger import Ledger, full_run, parse_rows


def ledger_with(*scenarios: tuple[str, int]) -> Ledger:
    ledger = Ledger()
    for name, sent in scenarios:
        ledger.record(name, f"fault for {name}", user=(sent, 0, 0), agent=(1, 0, 0))
    return ledger


def test_a_partial_run_replaces_only_its_own_rows() -> None:
    before = ledger_with(("a storm", 3), ("b outage", 5), ("c kill", 20)).render()
    after = ledger_with(("b outage", 7)).render(previous=before)
    rows = {r.scenario: r for r in parse_rows(after)}
    assert sorted(rows) == ["a storm", "b outage", "c kill"]
    assert rows["b outage"].user_sent == 7 and rows["a storm"].user_sent == 3 and rows["c kill"].user_sent == 20
    assert after.count("| b outage |") == 1


def test_a_full_run_drops_scenarios_that_no_longer_exist() -> None:
    before = ledger_with(("old name", 3), ("b outage", 5)).render()
    after = ledger_with(("b outage", 5)).render(previous=None)
    assert [r.scenario for r in parse_rows(after)] == ["b outage"]
    assert "old name" not in after and before != after


def test_rendering_round_trips_through_parsing() -> None:
    ledger = ledger_with(("x", 1), ("y", 2))
    page = ledger.render()
    assert parse_rows(page) == sorted(ledger.rows, key=lambda r: r.scenario)
    assert ledger_with().render(previous=page) == page
    assert parse_rows("no table here\n| a | b |") == []


def test_full_run_needs_every_file_and_no_deselection(tmp_path: Path) -> None:
    files = {tmp_path / "test_a.py", tmp_path / "test_b.py"}
    for f in files:
        f.write_text("")
    (tmp_path / "helpers.py").write_text("")
    assert full_run(files, 0, tmp_path)
    assert not full_run({tmp_path / "test_a.py"}, 0, tmp_path)
    assert not full_run(files, 1, tmp_path)
