"""A running app with one Bot Connector endpoint (flag on for its organisation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot_connector.helpers import FLAG, BotClient, write_bot_config
from extension.app import build_app
from extension.clock import SYSTEM_CLOCK, Clock
from extension.config import load_config
from extension.manifest import Manifest


@pytest.fixture
def bot_client(aiohttp_client: Any, tmp_path: Path, manifest: Manifest) -> BotClient:
    async def make(env: dict[str, str] | None = None, clock: Clock = SYSTEM_CLOCK, **kw: Any) -> TestClient[Any, Any]:
        config = load_config(write_bot_config(tmp_path, **kw), manifest, env=FLAG if env is None else env)
        client: TestClient[Any, Any] = await aiohttp_client(build_app(config, manifest, clock=clock))
        return client

    return make
