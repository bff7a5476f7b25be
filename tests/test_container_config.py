"""The container's config (deploy/genesys-om.toml) loads from the environment the image and compose give."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from extension.config import ConfigError, load_config
from extension.manifest import Manifest

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "deploy" / "genesys-om.toml"
# What the Dockerfile sets itself (ENV); everything else must come from whoever runs the image.
IMAGE_ENV = {"GENESYS_OM_STORE_URL": "sqlite:////var/lib/genesys-om/genesys-om.db"}
RUN_ENV = {
    "GENESYS_OM_PUBLIC_URL": "https://bot.example.com",
    "GENESYS_REGION": "mypurecloud.de",
    "GENESYS_DEPLOYMENT_NAME": "BotHandover",
    "GENESYS_QUEUE": "Support",
    "GENESYS_WEBHOOK_SECRET": "a-webhook-secret-of-32-characters",
    "GENESYS_CLIENT_ID": "client-id",
    "GENESYS_CLIENT_SECRET": "client-secret",
}


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def referenced() -> set[str]:
    """The environment variables the config's values read (not its comments)."""
    values = strings(tomllib.loads(CONFIG.read_text()))
    return {name for text in values for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text)}


def test_the_container_config_loads_with_the_documented_environment(manifest: Manifest) -> None:
    config = load_config(CONFIG, manifest, env={**IMAGE_ENV, **RUN_ENV})
    assert config.server.host == "0.0.0.0"
    assert config.server.port == 8080  # the Dockerfile's EXPOSE and GENESYS_OM_PORT
    assert config.connections["support"]["host"] == "mypurecloud.de"
    assert [e.url_token for e in config.endpoints] == ["support-bot"]


@pytest.mark.parametrize("name", sorted(RUN_ENV))
def test_each_missing_variable_is_named(manifest: Manifest, name: str) -> None:
    env = {**IMAGE_ENV, **RUN_ENV}
    del env[name]
    with pytest.raises(ConfigError) as caught:
        load_config(CONFIG, manifest, env=env)
    assert any(name in line for line in caught.value.errors), caught.value.errors


def test_compose_and_the_dockerfile_give_every_variable_the_config_reads() -> None:
    compose = (REPO / "compose.yaml").read_text()
    dockerfile = (REPO / "Dockerfile").read_text()
    assert referenced() == set(RUN_ENV) | set(IMAGE_ENV)
    for name in referenced():
        assert re.search(rf"^\s+{name}:", compose, re.M), f"compose.yaml does not set {name}"
    assert "GENESYS_OM_STORE_URL: redis://redis:6379/0" in compose
    assert f"GENESYS_OM_STORE_URL={IMAGE_ENV['GENESYS_OM_STORE_URL']}" in dockerfile
    # No secret is baked into the image.
    for secret in ("GENESYS_WEBHOOK_SECRET", "GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET"):
        assert secret not in dockerfile
