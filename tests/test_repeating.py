"""A failure that repeats: logged once, again once a minute with the count, and once when it recovers."""

from __future__ import annotations

import logging

import pytest

from extension.repeating import RepeatedFailure


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_failure_each_second_is_one_line_a_minute_and_one_on_recovery(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="test.repeating")
    clock = Clock()
    failures = RepeatedFailure(logging.getLogger("test.repeating"), "the pass", clock=clock)
    for _ in range(90):  # a pass a second for a minute and a half
        failures.failed(ConnectionError("Connection refused"))
        clock.now += 1
    failures.succeeded()
    failures.succeeded()
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.levelno > logging.DEBUG]
    assert lines == [
        (logging.ERROR, "the pass failed: ConnectionError: Connection refused"),
        (logging.ERROR, "the pass still failing (61 failures in a row, 60 since the last line): "
                        "ConnectionError: Connection refused"),
        (logging.WARNING, "the pass recovered after 90 failure(s)"),
    ]
    # No traceback above DEBUG; the first one is kept at DEBUG for whoever needs it.
    assert [r.levelno for r in caplog.records if r.exc_info] == [logging.DEBUG]
    assert [getattr(r, "failures", None) for r in caplog.records if r.levelno > logging.DEBUG] == [1, 61, 90]


def test_a_new_outage_after_a_recovery_is_logged_at_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="test.repeating")
    failures = RepeatedFailure(logging.getLogger("test.repeating"), "renewing", level=logging.WARNING, clock=Clock())
    failures.failed(TimeoutError())
    failures.succeeded()
    failures.failed(TimeoutError())
    assert [r.getMessage() for r in caplog.records] == [
        "renewing failed: TimeoutError", "renewing recovered after 1 failure(s)", "renewing failed: TimeoutError"]
