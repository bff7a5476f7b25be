"""A Genesys Cloud emulator: the Open Messaging subset of docs/GENESYS_NOTES.md and a Bot Connector
integration's Architect flow (architect.py), in one aiohttp app.

    async with Emulator() as emulator:
        ...  # point the client at emulator.base_url; drive agents with emulator.agent
"""

from .agent import Agent
from .app import Emulator, create_app
from .architect import Architect, BotTurn
from .channels import NotificationHub, PublishedEvent
from .config import BotConnectorConfig, EmulatorConfig, IntegrationConfig, QueueConfig, bot
from .errors import EmulatorError, InvalidState, UnknownConversation
from .faults import Faults, Rule
from .records import RequestLog, RequestRecord
from .state import Conversation, Participant, TranscriptEntry
from .webhooks import Attempt, WebhookDelivery, WebhookSender

__all__ = [
    "Agent",
    "Architect",
    "Attempt",
    "BotConnectorConfig",
    "BotTurn",
    "Conversation",
    "Emulator",
    "EmulatorConfig",
    "EmulatorError",
    "Faults",
    "IntegrationConfig",
    "InvalidState",
    "NotificationHub",
    "Participant",
    "PublishedEvent",
    "QueueConfig",
    "RequestLog",
    "RequestRecord",
    "Rule",
    "TranscriptEntry",
    "UnknownConversation",
    "WebhookDelivery",
    "WebhookSender",
    "bot",
    "create_app",
]
