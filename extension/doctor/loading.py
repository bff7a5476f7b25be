"""The config as the doctor reads it: leniently, so one bad value does not hide every other check."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ConfigError, parse_config, read_toml
from ..flags import FeatureFlags
from ..interpolation import interpolate
from ..manifest import Manifest
from ..providers.genesys_bot_connector.settings import ENDPOINT_TYPE as BOT_CONNECTOR_TYPE
from ..providers.genesys_om.state import PROVIDER as PROVIDER_TYPE


@dataclass
class DoctorConfig:
    """What the checks need, taken from the TOML even when strict validation refuses it."""

    path: Path
    public_url: str | None
    # Interpolated raw values of each genesysCloudOM connection; secrets stay here, never in output.
    connections: dict[str, dict[str, Any]]
    endpoints: list[dict[str, Any]]
    flags: FeatureFlags
    # What `genesys-om validate` would report, except a short webhook secret (a check of its own).
    problems: list[str] = field(default_factory=list)


def _is_short_secret_error(line: str, names: list[str]) -> bool:
    return any(line.startswith(f"connections.{name}.webhookSecret: Too short") for name in names)


def load_for_doctor(path: Path, manifest: Manifest, env: Mapping[str, str] | None = None,
                    connection: str | None = None) -> DoctorConfig:
    """Read the file; ConfigError only when it cannot be read at all or names no such connection."""
    env = os.environ if env is None else env
    raw = read_toml(path)
    data = interpolate(raw, env, "", {})
    server = data.get("server") if isinstance(data.get("server"), dict) else {}
    tables = data.get("connections") if isinstance(data.get("connections"), dict) else {}
    connections = {name: dict(body) for name, body in tables.items()
                   if isinstance(body, dict) and body.get("type") == PROVIDER_TYPE}
    if connection is not None:
        if connection not in connections:
            known = ", ".join(sorted(connections)) or "none"
            raise ConfigError([f"--connection: no {PROVIDER_TYPE} connection named {connection!r} "
                               f"(the config has: {known})"])
        connections = {connection: connections[connection]}
    raw_endpoints = data.get("endpoints") if isinstance(data.get("endpoints"), list) else []
    endpoints = [e for e in raw_endpoints if isinstance(e, dict)]
    if not connections and not any(e.get("type") == BOT_CONNECTOR_TYPE for e in endpoints):
        raise ConfigError([f"{path}: no [connections.NAME] table of type {PROVIDER_TYPE!r} and no "
                           f"{BOT_CONNECTOR_TYPE} endpoint to check"])
    problems: list[str] = []
    try:
        parse_config(raw, path.resolve(), manifest, env)
    except ConfigError as exc:
        problems = [line for line in exc.errors if not _is_short_secret_error(line, list(connections))]
    public_url = server.get("public_url")
    return DoctorConfig(
        path=path, public_url=public_url if isinstance(public_url, str) and public_url else None,
        connections=connections, endpoints=endpoints, flags=FeatureFlags.from_env(env), problems=problems,
    )
