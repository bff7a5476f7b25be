"""The completeBotSession node: end the Bot Connector session with an intent (Architect's success path)."""

from __future__ import annotations

from typing import Any

from ...flows.engine import NodeApi
from .provider import complete_session
from .settings import ENDPOINT_TYPE


def complete_bot_session(api: NodeApi, config: dict[str, Any]) -> None:
    """Answer Complete with the node's intent and parameters (only on a genesysBotConnector endpoint)."""
    if api.endpoint.type != ENDPOINT_TYPE:
        raise ValueError(f"completeBotSession runs only on a {ENDPOINT_TYPE} endpoint")
    parameters = {str(k): str(v) for k, v in (config.get("parameters") or {}).items() if v is not None}
    complete_session(api, str(config["intent"]), parameters)
