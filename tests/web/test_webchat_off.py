"""`[server] webchat = false`: every web chat page and file answers 404; the rest keeps working."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from extension.app import build_app
from extension.channels.static import ASSETS
from extension.config import Config, ConfigError
from extension.manifest import Manifest

WEBCHAT_FILES = [name for name in ASSETS if not name.startswith("copilot")]


@pytest.mark.parametrize("webchat", [False, True])
async def test_the_web_chat_pages_follow_the_server_setting(
    aiohttp_client: Callable[..., Any], make_config: Callable[..., Config], manifest: Manifest, webchat: bool
) -> None:
    config = make_config(server_extra=f"webchat = {'true' if webchat else 'false'}")
    assert config.server.webchat is webchat
    client: TestClient[Any, Any] = await aiohttp_client(build_app(config, manifest))
    expected = 200 if webchat else 404
    assert (await client.get("/webchat/support-bot")).status == expected
    for name in WEBCHAT_FILES:
        assert (await client.get(f"/webchat/assets/{name}")).status == expected, name
    # The Copilot page's stylesheet and the user routes do not depend on the web chat.
    assert (await client.get("/webchat/assets/copilot.css")).status == 200
    answer = await client.post("/support-bot", json={"userId": "u", "sessionId": "s", "text": "hi"})
    assert answer.status == 200


def test_the_web_chat_is_on_by_default(make_config: Callable[..., Config]) -> None:
    assert make_config().server.webchat is True


@pytest.mark.parametrize("value", ['"yes"', '"false"', "1", '"off"'])
def test_webchat_takes_a_toml_boolean_only(make_config: Callable[..., Config], value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_config(server_extra=f"webchat = {value}")
    assert any(line.startswith("server.webchat: Not a valid boolean") for line in caught.value.errors), \
        caught.value.errors
