"""A wheel user runs the examples `genesys-om --help` prints: they name files that ship in the package."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_help_examples_work_from_an_installed_wheel(tmp_path: Path, wheel: Path) -> None:
    site = tmp_path / "site"
    # A pure-Python wheel installs by unpacking it; only this copy of `extension` comes first on the path.
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    work = tmp_path / "elsewhere"
    work.mkdir()

    def genesys_om(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "extension", *args], capture_output=True, text=True,
                              cwd=work, env=env, timeout=60)

    shown = genesys_om("--help")
    assert shown.returncode == 0, shown.stderr
    configs = re.findall(r"^  genesys-om validate --config (\S+)$", shown.stdout, re.M)
    assert configs, shown.stdout
    for config in configs:
        assert Path(config).is_relative_to(site / "extension"), config
        result = genesys_om("validate", "--config", config)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"{config}: OK")
    assert "python -m extension.testing.emulator" in shown.stdout
    emulator = subprocess.run([sys.executable, "-m", "extension.testing.emulator", "--help"], capture_output=True,
                              text=True, cwd=work, env=env, timeout=60)
    assert emulator.returncode == 0 and "--webhook-url" in emulator.stdout
