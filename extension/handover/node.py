"""The handoverToAgent and closeHandover nodes.

Until the handover lifecycle is wired in, both end the handover at once with status `error`,
reason `unsupported`, and the flow continues below the node, so a user is never left waiting.
"""

from __future__ import annotations

from typing import Any

from ..flows.engine import NodeApi


def _unsupported(api: NodeApi) -> None:
    api.input["handover"] = {"status": "error", "reason": "unsupported"}
    api.emit_handover("error", reason="unsupported")


def handover_to_agent(api: NodeApi, config: dict[str, Any]) -> None:
    """Hand the conversation to an agent."""
    _unsupported(api)


def close_handover(api: NodeApi, config: dict[str, Any]) -> None:
    """End the active handover from the bot side."""
    _unsupported(api)
