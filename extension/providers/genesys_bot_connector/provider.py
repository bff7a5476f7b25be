"""The handover provider of a Bot Connector endpoint: handing over is completing with the escalation intent."""

from __future__ import annotations

from typing import Any

from ...copilot import NO_HANDOVER, CopilotView
from ...flows.engine import Endpoint, NodeApi, Turn
from ...flows.session import Session, SessionKey
from ...sessions import AfterEnd
from .settings import BotConnectorSettings
from .turns import COMPLETION

# handoverToAgent fields passed on to Architect as the completion's parameters, by parameter name.
ROUTING_FIELDS = {"queue": "queue", "skills": "skills", "language": "language", "priority": "priority"}


def complete_session(api: NodeApi, intent: str, parameters: dict[str, str]) -> None:
    """End the bot session with this intent: the endpoint answers Complete once the turn is stored."""
    api.set(COMPLETION, {"intent": intent, "parameters": parameters})
    api.stop()


class BotConnectorHandover:
    """handoverToAgent on a Bot Connector endpoint opens nothing: Architect transfers to the queue."""

    def __init__(self, bots: dict[str, BotConnectorSettings]) -> None:
        self.bots = bots

    async def start(self, api: NodeApi, config: dict[str, Any]) -> None:
        bot = self.bots.get(api.endpoint.url_token)
        if bot is None or bot.escalation_intent is None:
            api.input["handover"] = {"status": "error", "reason": "unsupported"}
            return
        parameters = {str(k): str(v) for k, v in (config.get("customAttributes") or {}).items() if v is not None}
        for name, key in ROUTING_FIELDS.items():
            value = config.get(key)
            if name == "queue" and value in (None, ""):
                value = bot.queue
            if value in (None, "", []):
                continue
            parameters[name] = ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
        # The customer hears the node's accepted message before Architect transfers them.
        if config.get("handoverAcceptedMessage"):
            api.output(str(config["handoverAcceptedMessage"]))
        complete_session(api, bot.escalation_intent, parameters)

    async def close(self, api: NodeApi, config: dict[str, Any]) -> None:
        """Nothing is open on the Genesys side: the bot session simply goes on."""

    async def on_input(self, turn: Turn) -> bool:
        return False

    async def on_typing(self, endpoint: Endpoint, key: SessionKey) -> None:
        """Genesys sends the bot no typing."""

    async def on_session_end(self, session: Session) -> AfterEnd | None:
        return None

    def copilot_view(self, session: Session, handover: str) -> CopilotView:
        return NO_HANDOVER
