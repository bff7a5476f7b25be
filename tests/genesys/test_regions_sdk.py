"""Our region list equals the newest official Genesys SDK's, so a new region cannot be missed."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from extension.genesys.regions import REGION_API_HOSTS

SDK = "purecloudplatformclientv2"
HOSTS_FILE = "PureCloudPlatformClientV2/purecloud_region_hosts.py"
CACHE = Path.home() / ".cache" / "genesys-om-handover" / "sdk"


def _version(wheel: Path) -> tuple[int, ...]:
    match = re.match(rf"{SDK}-([0-9.]+)-", wheel.name)
    return tuple(int(part) for part in match.group(1).split(".")) if match else ()


def newest_sdk_wheel() -> Path:
    """Download the newest SDK wheel (pip keeps an unchanged one) without installing it."""
    CACHE.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(  # noqa: S603 - a fixed command line
        [sys.executable, "-m", "pip", "download", SDK, "--no-deps", "--only-binary=:all:",
         "--disable-pip-version-check", "--timeout", "30", "-d", str(CACHE)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    wheels = sorted(CACHE.glob(f"{SDK}-*.whl"), key=_version)
    if done.returncode != 0 or not wheels:
        problem = f"could not download the Genesys SDK from PyPI: {done.stderr.strip()[-500:]}"
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(problem)  # CI reaches PyPI: a missing SDK there is a real failure
        pytest.skip(problem)
    return wheels[-1]


def sdk_region_api_hosts(wheel: Path) -> dict[str, str]:
    """The SDK's `PureCloudRegionHosts` enum, read from the wheel's source without importing it."""
    with zipfile.ZipFile(wheel) as archive:
        tree = ast.parse(archive.read(HOSTS_FILE).decode())
    enum = next(node for node in tree.body
                if isinstance(node, ast.ClassDef) and node.name == "PureCloudRegionHosts")
    hosts: dict[str, str] = {}
    for item in enum.body:
        if (isinstance(item, ast.Assign) and isinstance(item.targets[0], ast.Name)
                and isinstance(item.value, ast.Constant) and isinstance(item.value.value, str)):
            hosts[item.targets[0].id] = item.value.value.removeprefix("https://")
    return hosts


def test_our_regions_are_the_newest_sdks_regions() -> None:
    wheel = newest_sdk_wheel()
    sdk = sdk_region_api_hosts(wheel)
    assert sdk, f"no region found in {HOSTS_FILE} of {wheel.name}"
    assert REGION_API_HOSTS == sdk, (
        f"extension/genesys/regions.py REGION_API_HOSTS differs from {wheel.name}: "
        f"missing {sorted(set(sdk.items()) - set(REGION_API_HOSTS.items()))}, "
        f"not in the SDK {sorted(set(REGION_API_HOSTS.items()) - set(sdk.items()))}"
    )
