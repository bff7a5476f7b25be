"""`[endpoints.botConnector]`: the bot Genesys Cloud sees, its credential, intents and deadline."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from ...endpoint_settings import FlowNode
from ...flags import FeatureFlags
from ...schemas import SecretField, SecretLength
from ...secrets import Secret
from ..genesys_flags import BOT_CONNECTOR_WHITELIST

ENDPOINT_TYPE = "genesysBotConnector"
COMPLETE_NODE = "completeBotSession"
HANDOVER_NODE = "handoverToAgent"
SAY_NODE = "say"
# Genesys waits 30 s for the bot's answer (docs/GENESYS_NOTES.md 11): the flow gets less.
DEADLINE_SECONDS = 25.0
_HEADER = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
_NAME = validate.Length(min=1, max=200)


def _unique(values: list[str]) -> None:
    if len(set(values)) != len(values):
        raise ValidationError("Each may appear once.")


class BotConnectorSchema(Schema):
    class Meta:
        unknown = RAISE

    # The header name of the integration's credential field (Genesys sends each as a header).
    credentialHeader = fields.String(required=True, validate=validate.Regexp(
        _HEADER, error="Must be an HTTP header name (letters, digits, '-').",))
    credential = SecretField(required=True, validate=SecretLength(16, 4096))
    botId = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9_.-]{1,128}$", error="Use 1 to 128 letters, digits, '.', '-' or '_'."))
    botName = fields.String(required=True, validate=_NAME)
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    languages = fields.List(fields.String(validate=validate.Regexp(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")),
                            load_default=lambda: ["en-us"], validate=[validate.Length(min=1, max=50), _unique])
    intents = fields.List(fields.String(validate=_NAME), required=True,
                          validate=[validate.Length(min=1, max=200), _unique])
    escalationIntent = fields.String(load_default=None, validate=_NAME)
    # The queue a handoverToAgent node hands to when it names none (a node's `queue` wins).
    queue = fields.String(load_default=None, validate=_NAME)
    deadline_seconds = fields.Float(load_default=DEADLINE_SECONDS, allow_nan=False,
                                    validate=validate.Range(min=1, max=29))
    # The Genesys Bot Connector integration's id: only `genesys-om doctor` reads it, to check (and
    # with --fix, set) the bot list Genesys holds for it.
    integrationId = fields.String(load_default=None, validate=validate.Regexp(
        r"^[A-Za-z0-9-]{1,64}$", error="Must be the integration's id (letters, digits, '-')."))


@dataclass(frozen=True)
class BotConnectorSettings:
    """One Bot Connector endpoint's bot."""

    credential_header: str
    credential: Secret = field(repr=False)
    bot_id: str = ""
    bot_name: str = ""
    description: str = ""
    languages: tuple[str, ...] = ("en-us",)
    intents: tuple[str, ...] = ()
    escalation_intent: str | None = None
    deadline_seconds: float = DEADLINE_SECONDS
    integration_id: str | None = None
    queue: str | None = None


def _quick_replies_without_text(config: Mapping[str, Any]) -> bool:
    """A say whose output would be a Structured reply with an empty text (Genesys takes none)."""
    data = config.get("data")
    quick = data.get("quickReplies") if isinstance(data, Mapping) else None
    text = config.get("text")
    return isinstance(quick, list) and bool(quick) and not (isinstance(text, str) and text.strip())


class BotConnectorEndpoint:
    """The endpoint type's config seam (manifest.json `endpointTypes[].settings`)."""

    table = "botConnector"
    schema = BotConnectorSchema
    node_types = frozenset({COMPLETE_NODE})

    def build(self, values: dict[str, Any]) -> object:
        return BotConnectorSettings(
            values["credentialHeader"], values["credential"], values["botId"], values["botName"],
            values["description"], tuple(values["languages"]), tuple(values["intents"]),
            values["escalationIntent"], values["deadline_seconds"], values["integrationId"], values["queue"])

    def check(self, values: Mapping[str, Any], nodes: Sequence[FlowNode]) -> list[str]:
        intents = list(values["intents"])
        problems = []
        escalation = values.get("escalationIntent")
        if escalation is not None and escalation not in intents:
            problems.append(f"botConnector.escalationIntent: {escalation!r} is not one of botConnector.intents "
                            f"({', '.join(intents)})")
        for node in nodes:
            if node.type == COMPLETE_NODE and node.config.get("intent") not in intents:
                problems.append(f"flow: node {node.id!r} ({COMPLETE_NODE}) completes with intent "
                                f"{node.config.get('intent')!r}, which botConnector.intents does not declare")
            if node.type == SAY_NODE and _quick_replies_without_text(node.config):
                problems.append(f"flow: node {node.id!r} ({SAY_NODE}) has quick replies but no text; a Bot "
                                "Connector reply with quick replies (Structured) needs a text, their prompt")
            if node.type == HANDOVER_NODE and escalation is None:
                problems.append(f"botConnector.escalationIntent: required, node {node.id!r} ({HANDOVER_NODE}) "
                                "completes the bot session with it")
        return problems

    def disabled_reason(self, flags: FeatureFlags, organisation: str) -> str | None:
        whitelist = flags.whitelist(BOT_CONNECTOR_WHITELIST)
        if whitelist.allows(organisation):
            return None
        return f"add {organisation!r} (or *) to {BOT_CONNECTOR_WHITELIST} (now: {whitelist})"


ENDPOINT = BotConnectorEndpoint()
