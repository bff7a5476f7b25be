"""Background tasks: a failure is logged, in one line for an error its owner calls quiet, else with its traceback."""

from __future__ import annotations

import asyncio
import logging

import pytest

from extension.genesys import GenesysError
from extension.store import StoreError
from extension.tasks import BackgroundTasks


async def _fail(exc: Exception) -> None:
    raise exc


async def _records(tasks: BackgroundTasks, exc: Exception, caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="extension.tasks"):
        task = tasks.spawn(_fail(exc), name="job")
        await asyncio.wait({task})  # the set logs in its done callback, which runs first
    return [r for r in caplog.records if r.name == "extension.tasks"]


async def test_a_quiet_error_is_one_line_and_any_other_has_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    tasks = BackgroundTasks("handover", quiet=(GenesysError,))
    [quiet] = await _records(tasks, GenesysError("try later", status=503), caplog)
    assert quiet.exc_info is None and "\n" not in quiet.getMessage()
    assert quiet.getMessage().startswith("handover task job failed: ") and "try later" in quiet.getMessage()
    [loud] = await _records(tasks, RuntimeError("a bug"), caplog)
    assert loud.exc_info is not None and loud.getMessage() == "handover task job failed"
    assert "RuntimeError: a bug" in caplog.text
    assert len(tasks) == 0


async def test_store_errors_are_quiet_everywhere_and_other_errors_only_where_named(
        caplog: pytest.LogCaptureFixture) -> None:
    plain = BackgroundTasks("plain")
    [store] = await _records(plain, StoreError("store down"), caplog)
    assert store.exc_info is None and store.getMessage() == "plain task job failed: store down"
    [genesys] = await _records(plain, GenesysError("try later", status=503), caplog)
    assert genesys.exc_info is not None
