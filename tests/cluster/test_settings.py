"""Configuring several replicas: the Redis store URL and the lease duration, validated by TOML path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from extension.config import ConfigError, load_config
from extension.manifest import Manifest
from extension.providers.genesys_om.settings import HandoverSettings

WriteConfig = Callable[..., Path]


def errors(write_config: WriteConfig, manifest: Manifest, **kw: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(write_config(**kw), manifest, env={})
    return info.value.errors


def test_a_redis_store_and_a_lease_duration_are_accepted(write_config: WriteConfig, manifest: Manifest) -> None:
    path = write_config(store="redis://10.0.0.5:6379/2?prefix=acme&lock_seconds=5",
                        extra="[handover]\nlease_seconds = 2.5")
    config = load_config(path, manifest, env={})
    assert config.store_url.startswith("redis://10.0.0.5:6379/2")
    assert config.settings_for("genesysCloudOM", HandoverSettings).lease_seconds == 2.5
    default = load_config(write_config(), manifest, env={})
    assert default.settings_for("genesysCloudOM", HandoverSettings).lease_seconds == 10.0


@pytest.mark.parametrize(("url", "problem"), [
    ("redis://10.0.0.5:6379/zero", "the Redis database must be a number"),
    ("redis://10.0.0.5/0?timeout=3", "unknown Redis store option(s) timeout"),
    ("redis://10.0.0.5/0?lock_seconds=0", "lock_seconds must be between"),
    ("rediz://10.0.0.5/0", "unsupported store URL"),
])
def test_a_bad_redis_url_names_store_url(write_config: WriteConfig, manifest: Manifest, url: str,
                                         problem: str) -> None:
    found = errors(write_config, manifest, store=url)
    assert len(found) == 1 and found[0].startswith("store.url: ") and problem in found[0], found


def test_a_lease_must_last(write_config: WriteConfig, manifest: Manifest) -> None:
    found = errors(write_config, manifest, extra="[handover]\nlease_seconds = 0")
    assert [line.split(":")[0] for line in found] == ["handover.lease_seconds"]


def test_without_the_redis_package_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from extension.store import check_store_url

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "redis" else real(name, *a))
    assert check_store_url("redis://127.0.0.1:6379/0") == \
        "the Redis store needs the redis package: pip install 'redis>=5'"
