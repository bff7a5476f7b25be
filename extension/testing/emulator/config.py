"""What the emulated Genesys Cloud organisation holds: OAuth clients, integrations, queues, timings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .bot_list import validate_bot_list

# Fixed ids so a demo configuration and its logs read the same on every run.
DEFAULT_CLIENT_ID = "emulator-client-id"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"  # noqa: S105 - a well-known test credential
DEFAULT_INTEGRATION_ID = "6f2b7c4e-0c1d-4b8a-9e51-3a7d2f1c0b11"
DEFAULT_INTEGRATION_NAME = "BotHandover"
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8080/handover/genesysCloudOM"
DEFAULT_WEBHOOK_SECRET = "emulator-webhook-secret-0123456789"  # noqa: S105 - test credential
DEFAULT_FLOW_ID = "9a1e4d2c-77b0-4f3e-8c6a-5b2d1e0f9a22"
DEFAULT_QUEUE_ID = "1c9d3b5a-2e4f-4a6b-8d0c-7e1f2a3b4c33"
DEFAULT_QUEUE_NAME = "Support"
DEFAULT_BOT_CONNECTOR_ID = "3e5c8a71-4b2d-4f6e-a0c9-8d7b6e5f4a55"
DEFAULT_BOT_CONNECTOR_NAME = "BotConnector"
DEFAULT_DIVISION_ID = "0d8e7f6a-5b4c-4d3e-9f2a-1b0c9d8e7f44"

CREATE_STATUSES = ("Initiated", "Completed", "Error")
USER_START_MOMENTS = ("alerting", "accept")


@dataclass
class IntegrationConfig:
    """One Open Messaging integration (a "deployment" in the Genesys admin UI)."""

    id: str
    name: str
    webhook_url: str = DEFAULT_WEBHOOK_URL
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    create_status: str = "Completed"
    status: str = "Active"
    # The integration's message routing recipient; Genesys gives it its own id.
    recipient_id: str = ""
    # The inbound message flow linked to the recipient; None means "not linked to a flow".
    flow_id: str | None = DEFAULT_FLOW_ID
    flow_name: str | None = "Bot handover inbound flow"

    def __post_init__(self) -> None:
        if self.create_status not in CREATE_STATUSES:
            raise ValueError(f"create_status must be one of {CREATE_STATUSES}")
        if not self.recipient_id:
            self.recipient_id = self.id

    @property
    def linked(self) -> bool:
        """True when a message flow is attached to the integration's recipient."""
        return self.flow_id is not None


@dataclass
class QueueConfig:
    """One routing queue."""

    id: str
    name: str
    division_id: str = DEFAULT_DIVISION_ID
    division_name: str = "Home"


@dataclass
class BotConnectorConfig:
    """One Digital Bot Connector integration and the inbound message flow that calls its bot.

    The flow posts each customer message to `{bot_uri}/botconnector/messages` with `credentials`
    as headers, and on Complete or Failed transfers to `queue_id`. `bots` is the integration's bot
    list (`BotList.chatBots` JSON, see `bot()`); `bot_id` and `bot_version` name the bot the
    flow's "Call Digital Bot Connector" action calls (empty: the first bot, its first version).
    """

    id: str
    name: str
    bot_uri: str
    credentials: dict[str, str] = field(default_factory=dict)  # header name -> value (secret)
    queue_id: str = DEFAULT_QUEUE_ID
    bots: list[dict[str, Any]] = field(default_factory=list)
    bot_id: str = ""
    bot_version: str = ""
    language: str = "en-us"
    session_timeout: int = 360  # botSessionTimeout, minutes (assumed default: Architect's 6 h follow-up)
    parameters: dict[str, str] = field(default_factory=dict)  # the action's input parameters
    response_timeout: float = 30.0  # seconds; a slower answer counts as Failed

    def __post_init__(self) -> None:
        validate_bot_list({"chatBots": self.bots})
        if self.response_timeout <= 0:
            raise ValueError("response_timeout must be positive")

    def __repr__(self) -> str:
        # The credential values are secrets: only the header names are shown.
        return (f"BotConnectorConfig(id={self.id!r}, name={self.name!r}, bot_uri={self.bot_uri!r}, "
                f"credentials={sorted(self.credentials)!r}, queue_id={self.queue_id!r})")


def bot(
    bot_id: str,
    intents: list[str],
    *,
    name: str | None = None,
    version: str = "1",
    languages: tuple[str, ...] = ("en-us",),
    description: str | None = None,
) -> dict[str, Any]:
    """One `BotConnectorBot` of a bot list, with one version declaring these intents."""
    entry: dict[str, Any] = {"id": bot_id, "name": name or bot_id}
    if description is not None:
        entry["description"] = description
    entry["versions"] = [{"version": version, "supportedLanguages": list(languages),
                          "intents": [{"name": intent} for intent in intents]}]
    return entry


def _default_integrations() -> list[IntegrationConfig]:
    return [IntegrationConfig(id=DEFAULT_INTEGRATION_ID, name=DEFAULT_INTEGRATION_NAME)]


def _default_queues() -> list[QueueConfig]:
    return [QueueConfig(id=DEFAULT_QUEUE_ID, name=DEFAULT_QUEUE_NAME)]


def _default_clients() -> dict[str, str]:
    return {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}


@dataclass
class EmulatorConfig:
    """Everything the emulator can be told; the defaults mirror Genesys Cloud's own."""

    clients: dict[str, str] = field(default_factory=_default_clients)
    token_lifetime: int = 86399
    integrations: list[IntegrationConfig] = field(default_factory=_default_integrations)
    queues: list[QueueConfig] = field(default_factory=_default_queues)
    bot_connectors: list[BotConnectorConfig] = field(default_factory=list)
    # Webhook delivery: Genesys answers are due within 10 s and it retries up to 5 times, 5 s apart,
    # on a timeout, a 429 or a 5xx.
    webhook_retries: int = 5
    webhook_retry_delay: float = 5.0
    webhook_timeout: float = 10.0
    # Notifications API.
    heartbeat_interval: float = 30.0
    channel_lifetime: float = 24 * 3600.0
    max_topics_per_channel: int = 1000
    max_channels_per_client: int = 20
    # Permissions each OAuth client's role lacks (client id -> permission names): its subscriptions
    # to topics that need one are refused, as Genesys does.
    missing_permissions: dict[str, list[str]] = field(default_factory=dict)
    # Not verified against Genesys: whether and how it posts receipts for inbound messages
    # (docs/GENESYS_NOTES.md section 9). Off by default; on, each accepted inbound message gets a
    # `Receipt` webhook with status `Delivered`.
    inbound_receipts: bool = False
    # A reason ({"code", "message"}, codes of the SDK's ConversationReason) makes each accepted
    # inbound message get a `Failed` receipt with it instead, as when Genesys cannot deliver it.
    inbound_receipt_failure: dict[str, str] | None = None
    # Auto-reply agent: accepts every routed conversation and echoes each customer text.
    auto_reply: bool = False
    auto_reply_agent: str = "Echo"
    auto_reply_template: str = "Echo: {text}"
    # When `user.start` fires: "alerting" (the conversation rings at an agent, before they accept;
    # unconfirmed, but what Genesys is reported to do) or "accept" (once the agent is connected).
    user_start_on: str = "alerting"
    # Unconfirmed that Genesys lets an API client end an Open Messaging conversation by PATCHing
    # its customer participant. Set to a 4xx status (400, 403, 405, 409, 422) to refuse that PATCH
    # with a Genesys error body, as an organisation might; the conversation then stays open.
    refuse_customer_disconnect: int | None = None
    # Added to every API answer (benchmarks use about 10 ms to look like a real network).
    latency: float = 0.0
    # The handle time behind the queues' estimated waits (a waiting conversation's place times
    # this); None: Genesys has no estimate.
    estimated_handle_seconds: float | None = 90.0

    def __post_init__(self) -> None:
        if self.user_start_on not in USER_START_MOMENTS:
            raise ValueError(f"user_start_on must be one of {USER_START_MOMENTS}")

    def integration(self, integration_id: str) -> IntegrationConfig | None:
        """The integration with this id, if any."""
        return next((i for i in self.integrations if i.id == integration_id), None)

    def bot_connector(self, integration_id: str) -> BotConnectorConfig | None:
        """The Bot Connector integration with this id, if any."""
        return next((b for b in self.bot_connectors if b.id == integration_id), None)

    def queue(self, queue_id: str) -> QueueConfig | None:
        """The queue with this id, if any."""
        return next((q for q in self.queues if q.id == queue_id), None)

    def queue_named(self, name: str) -> QueueConfig | None:
        """The queue with exactly this name, if any."""
        return next((q for q in self.queues if q.name == name), None)
