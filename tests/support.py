"""Helpers shared by the tests: a valid config text and a small echo flow."""

from __future__ import annotations

from typing import Any

SECRET = "test-webhook-secret-0123456789"
CLIENT_SECRET = "test-client-secret-abcdef"



ECHO_FLOW: dict[str, Any] = {
    "name": "echo",
    "nodes": [
        {"id": "hello", "type": "say", "config": {"text": "Hello"}},
        {"id": "wait", "type": "waitForInput"},
        {"id": "echo", "type": "say", "config": {"text": "You said: {{input.text}}"}},
        {"id": "back", "type": "goTo", "config": {"target": "wait"}},
    ],
}


def config_text(*, store: str = "memory://", flow: str = "flow.json", extra: str = "",
                endpoint_extra: str = "", handover: bool = True, server_extra: str = "",
                session_access: str | None = "open") -> str:
    """A complete, valid config; tests change one thing at a time.

    Its endpoint takes the ids alone (`sessionAccess = "open"`) unless told otherwise: session
    access itself is tested in test_session_access.py, across routes and stores.
    """
    if session_access is not None and "sessionAccess" not in endpoint_extra:
        endpoint_extra = f'sessionAccess = "{session_access}"\n{endpoint_extra}'
    connection = f"""
[connections.support]
type = "genesysCloudOM"
host = "mypurecloud.de"
deploymentName = "BotHandover"
queue = "Support"
webhookSecret = "{SECRET}"
clientId = "client-1"
clientSecret = "{CLIENT_SECRET}"
""" if handover else ""
    return f"""
[server]
host = "127.0.0.1"
port = 8080
public_url = "https://bot.example.com"
{server_extra}
[store]
url = "{store}"
{connection}
[[endpoints]]
urlToken = "support-bot"
organisation = "acme"
flow = "{flow}"
{'handover = "support"' if handover else ''}
{endpoint_extra}
{extra}
"""


def free_port() -> int:
    """A port nobody listens on right now (loopback)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
