"""The handoverToAgent and closeHandover nodes: thin bindings to the provider of the endpoint's connection."""

from __future__ import annotations

from typing import Any

from ..flows.engine import NodeApi
from . import service_key, transitions


async def handover_to_agent(api: NodeApi, config: dict[str, Any]) -> None:
    """Hand the conversation to an agent; without a provider the handover ends as unsupported."""
    provider = api.services.get(service_key(api.endpoint.handover_type))
    if provider is None:
        transitions.log_transition(transitions.ERROR, api.key, None, None, "unsupported")
        api.input["handover"] = {"status": "error", "reason": "unsupported"}
        api.emit_handover("error", reason="unsupported")
        return
    await provider.start(api, config)


async def close_handover(api: NodeApi, config: dict[str, Any]) -> None:
    """End the active handover from the bot side."""
    provider = api.services.get(service_key(api.endpoint.handover_type))
    if provider is not None:
        await provider.close(api, config)
