"""Doctor fixtures: an emulator set up as a correct organisation, and the doctor run against it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from doctor.helpers import FLAGS, ORDER, PUBLIC_URL, Doctor, write
from extension.doctor import Check, run_doctor
from extension.testing.emulator import Emulator


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emu = Emulator()
    await emu.start()
    emu.update_integration(emu.integration.id, webhook_url=PUBLIC_URL + "/handover/genesysCloudOM")
    yield emu
    await emu.stop()


@pytest.fixture
def doctor(tmp_path: Path, emulator: Emulator) -> Doctor:
    async def run(env: dict[str, str] | None = None, **values: str) -> dict[str, Check]:
        checks = await run_doctor(write(tmp_path, emulator, **values), env=FLAGS if env is None else env)
        assert [c.id for c in checks] == ORDER
        return {c.id: c for c in checks}

    return run
