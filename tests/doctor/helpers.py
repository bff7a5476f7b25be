"""Doctor test helpers: the emulator setup, the CLI runner and the report reader."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from extension.cli import main
from extension.doctor import Check
from extension.testing.emulator import Emulator
from extension.testing.emulator.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_WEBHOOK_SECRET

PUBLIC_URL = "https://bot.example.com"


FLAGS = {"FEATURE_ENABLE_GENESYS_CLOUD_OM": "true", "FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST": "acme"}


Doctor = Callable[..., Awaitable[dict[str, Check]]]


def write(tmp_path: Path, emulator: Emulator, **values: str) -> Path:
    """A config for the emulator's organisation; keyword arguments replace connection values."""
    (tmp_path / "flow.json").write_text(json.dumps({"name": "f", "nodes": [
        {"id": "h", "type": "handoverToAgent", "config": {}}]}))
    connection = {"host": emulator.base_url or "", "deploymentName": "BotHandover", "queue": "Support",
                  "webhookSecret": DEFAULT_WEBHOOK_SECRET, "clientId": DEFAULT_CLIENT_ID,
                  "clientSecret": DEFAULT_CLIENT_SECRET, **values}
    lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in connection.items())
    path = tmp_path / "config.toml"
    path.write_text(f"""
[server]
public_url = "{PUBLIC_URL}"
[store]
url = "memory://"
[connections.support]
type = "genesysCloudOM"
{lines}
[[endpoints]]
urlToken = "support-bot"
organisation = "acme"
flow = "flow.json"
handover = "support"
""")
    return path


async def run_cli(*argv: str) -> tuple[int, str, str]:
    """`genesys-om ...` in a thread (it runs its own event loop), with its output captured."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()

    def call() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return main(list(argv))

    code = await asyncio.to_thread(call)
    return code, out.getvalue(), err.getvalue()


ORDER = ["config", "region", "token", "integration", "integration_created", "webhook_url", "flow", "queue",
         "notifications", "notification_permissions", "flags", "webhook_secret"]
