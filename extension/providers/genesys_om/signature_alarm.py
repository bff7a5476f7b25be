"""Webhooks whose signature fails: said once a minute per connection, counted, and told to the user.

A wrong `webhookSecret` refuses every agent message with 401 and Genesys gives up after its
retries: without this, nobody would know. The body of such a request is unsigned, so it is only
read to name the integration in the log line and to find, by `channel.to.id` in the index of
active handovers, the user left waiting; nothing else is done with it.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from ... import bounded_json
from ...flows.events import output_event
from ...metrics import Counter
from ...tasks import BackgroundTasks
from .connection import GenesysConnection
from .provider import GenesysHandover
from .state import BY_USER, HandoverState

log = logging.getLogger("extension.providers.genesys_om.webhook")

LOG_INTERVAL_SECONDS = 60.0
AGENT_UNREACHABLE = ("The agent cannot reach you right now: their replies are refused because of a setup problem "
                     "on our side. Please bear with us.")
UNKNOWN = "unknown"
# Recipients looked up recently: a flood of bad requests does not become a flood of store reads.
RECENT_RECIPIENTS = 1024


def _claims(raw: bytes) -> tuple[str | None, str | None]:
    """(`channel.id` or `channel.from.id`, `channel.to.id`) as the unsigned body claims them."""
    try:
        body = bounded_json.loads(raw)
    except ValueError:
        return None, None
    channel = body.get("channel") if isinstance(body, dict) else None
    if not isinstance(channel, dict):
        return None, None
    sender, recipient = channel.get("from"), channel.get("to")
    integration = channel.get("id")
    if not isinstance(integration, str) and isinstance(sender, dict):
        integration = sender.get("id")
    to_id = recipient.get("id") if isinstance(recipient, dict) else None
    return (integration[:64] if isinstance(integration, str) else None,
            to_id if isinstance(to_id, str) and 0 < len(to_id) <= 128 else None)


class SignatureAlarm:
    """Counts refused signatures per connection and warns the users whose agent cannot reach them."""

    def __init__(self, connections: Mapping[str, GenesysConnection], handover: GenesysHandover, counter: Counter,
                 background: BackgroundTasks, clock: Callable[[], float] = time.monotonic) -> None:
        self.connections = connections
        self.handover = handover
        self.counter = counter
        self.background = background
        self.clock = clock
        self._pending: dict[str, int] = {}
        self._logged_at: dict[str, float] = {}
        self._recent: OrderedDict[str, float] = OrderedDict()

    def refused(self, raw: bytes) -> None:
        """A webhook carried a signature that no connection's secret makes."""
        integration_id, to_id = _claims(raw)
        named = [c for c in self.connections.values() if integration_id and c.integration_id == integration_id]
        label = named[0].name if named else UNKNOWN
        self.counter.inc(connection=label)
        self._pending[label] = self._pending.get(label, 0) + 1
        now = self.clock()
        if now - self._logged_at.get(label, float("-inf")) >= LOG_INTERVAL_SECONDS:
            self._logged_at[label] = now
            self._log(label, named, integration_id, self._pending.pop(label))
        if to_id is not None and self._first_look(to_id, now):
            self.background.spawn(self._tell_user(to_id), name="signature-notice")

    def _log(self, label: str, named: list[GenesysConnection], integration_id: str | None, count: int) -> None:
        if named:
            who = ", ".join(f"connection {c.name} (integration {c.deployment_name!r}, id {c.integration_id})"
                            for c in named)
        else:
            who = f"an integration no connection has resolved (the unsigned body says id {integration_id!r})"
        log.error("%d webhook(s) refused in the last minute for %s: the webhook secret does not match the "
                  "integration's. Set webhookSecret to the integration's outbound webhook signature secret "
                  "(genesys-om doctor checks the setup); until then agent messages do not reach the users",
                  count, who)

    def _first_look(self, to_id: str, now: float) -> bool:
        seen = self._recent.get(to_id)
        if seen is not None and now - seen < LOG_INTERVAL_SECONDS:
            return False
        self._recent[to_id] = now
        self._recent.move_to_end(to_id)
        while len(self._recent) > RECENT_RECIPIENTS:
            self._recent.popitem(last=False)
        return True

    async def _tell_user(self, to_id: str) -> None:
        """Once per handover: a system line that the agent cannot reach the user right now."""
        found = await self.handover.session_of(BY_USER, to_id)
        if found is None:
            return
        async with self.handover.sessions.turn(*found) as turn:
            state = HandoverState.from_doc(turn.session.handover)
            if state is None or state.genesys_user_id != to_id or state.signature_notified:
                turn.discard()
                return
            state.signature_notified = True
            turn.session.handover = state.to_doc()
            turn.events.append(output_event(AGENT_UNREACHABLE, None, "system"))
        log.info("conversation %s: the user was told that the agent cannot reach them", state.conversation_id)
