"""Tuning of the Genesys handover (the [handover] table): retries, end detection, reconciler, delivery notices."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from ...flags import FeatureFlags
from ...flows.session import TRANSCRIPT_CHARS, TRANSCRIPT_LIMIT
from ...genesys.regions import resolve_region
from ..genesys_flags import om_disabled_reason

ACW_TIMEOUT_ENV = "GENESYS_OM_HANDOVER_ACW_AFTER_TRANSFER_TIMEOUT_IN_MS"

# How the notifications channels learn of ends (docs/END_DETECTION.md): each handover's own
# conversation topics, or the topic of its queue (one for all the handovers routed there).
CONVERSATION_TOPICS = "conversation"
QUEUE_TOPICS = "queue"
END_TOPICS = (CONVERSATION_TOPICS, QUEUE_TOPICS)


@dataclass(frozen=True)
class HandoverSettings:
    """Every duration in seconds. Defaults suit production; tests compress them."""

    retry_attempts: int = 4
    retry_total_seconds: float = 20.0
    request_timeout_seconds: float = 10.0
    # After a non-transfer `user.end`, wait this long for a `user.start` before ending.
    acw_timeout_seconds: float = 10.0
    # After a `user.start`, how often the conversation is read until its agent answers the ring.
    agent_check_seconds: float = 2.0
    reconcile_interval_seconds: float = 30.0
    reconcile_idle_seconds: float = 120.0
    reconcile_batch: int = 20
    # Handovers no notification watches (a permission missing, every channel full) are checked
    # this often instead, each pass at most `reconcile_batch` of them.
    reconcile_unwatched_interval_seconds: float = 10.0
    # "conversation": three topics per handover (about 6,600 handovers per OAuth client, the rest
    # left to the reconciler); "queue": one topic per queue, falling back to "conversation" when
    # Genesys refuses it.
    end_topics: str = CONVERSATION_TOPICS
    heartbeat_timeout_seconds: float = 95.0
    channel_renew_seconds: float = 3600.0
    reconnect_max_seconds: float = 30.0
    delivery_notice_seconds: float = 60.0
    # A webhook whose session is busy longer than this is stored durably and answered (Genesys waits 10 s).
    webhook_wait_seconds: float = 2.0
    outbox_retry_max_seconds: float = 30.0
    # Cluster-wide jobs (notifications channels, reconciler, a session's sender) are leased for
    # this long and renewed well before; a dead holder is replaced within about this time.
    lease_seconds: float = 10.0
    # Genesys redelivers for about 25 s (5 retries, 5 s apart); the last 100 ids cover that.
    dedup_window: int = 100
    # The transcript sent at the start: the newest messages, at most this many and this many
    # characters of text (older ones are left out, with a line saying how many).
    transcript_max_messages: int = 50
    transcript_max_chars: int = 20000
    # Inbound messages to Genesys (each piece of a split text counts): per session, and per
    # connection in each replica (all handovers of a connection share one OAuth client, whose
    # budget is about 300 requests a minute).
    session_messages_per_minute: int = 20
    connection_messages_per_minute: int = 240
    # While queued, the user is told Genesys' estimated wait, asked at most this often per handover
    # (never more than once per WAIT_ESTIMATE_MIN_SECONDS); 0 turns it off.
    wait_estimate_seconds: float = 60.0
    # An agent's file reaches the user through a signed link of the runtime (agent_files.py): this
    # long, and at most this many bytes.
    attachment_link_seconds: float = 3600.0
    attachment_max_bytes: int = 25 * 1024 * 1024

    @staticmethod
    def acw_from_env(env: Mapping[str, str] | None = None) -> float | None:
        """The debounce from GENESYS_OM_HANDOVER_ACW_AFTER_TRANSFER_TIMEOUT_IN_MS, if set and valid."""
        raw = (os.environ if env is None else env).get(ACW_TIMEOUT_ENV)
        if raw is None or not raw.strip():
            return None
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"{ACW_TIMEOUT_ENV} must be a whole number of milliseconds, not {raw!r}") from None
        if value < 0:
            raise ValueError(f"{ACW_TIMEOUT_ENV} must not be negative")
        return value / 1000.0


def _seconds(**kw: Any) -> fields.Float:
    return fields.Float(validate=validate.Range(min=0, max=86400 * 2), allow_nan=False, **kw)


# Genesys is asked for a handover's estimated wait at most once per this many seconds.
WAIT_ESTIMATE_MIN_SECONDS = 30.0


def _wait_estimate(value: float) -> None:
    if value != 0 and not WAIT_ESTIMATE_MIN_SECONDS <= value <= 3600:
        raise ValidationError(f"Must be 0 (off) or between {WAIT_ESTIMATE_MIN_SECONDS:g} and 3600.")


class HandoverSchema(Schema):
    """Optional [handover] tuning; every key has a production default."""

    class Meta:
        unknown = RAISE

    retry_attempts = fields.Integer(strict=True, validate=validate.Range(min=1, max=20))
    retry_total_seconds = _seconds()
    request_timeout_seconds = _seconds()
    acw_timeout_seconds = _seconds()
    agent_check_seconds = fields.Float(validate=validate.Range(min=0.05, max=600), allow_nan=False)
    reconcile_interval_seconds = _seconds()
    reconcile_idle_seconds = _seconds()
    reconcile_batch = fields.Integer(strict=True, validate=validate.Range(min=1, max=1000))
    # Checks Genesys in a loop: 0 would never pause.
    reconcile_unwatched_interval_seconds = fields.Float(validate=validate.Range(min=0.1, max=86400 * 2),
                                                        allow_nan=False)
    end_topics = fields.String(validate=validate.OneOf(END_TOPICS))
    heartbeat_timeout_seconds = _seconds()
    channel_renew_seconds = _seconds()
    reconnect_max_seconds = _seconds()
    delivery_notice_seconds = _seconds()
    outbox_retry_max_seconds = _seconds()
    # Well under Genesys' 10 s webhook timeout.
    webhook_wait_seconds = fields.Float(validate=validate.Range(min=0, max=9), allow_nan=False)
    # Leases of cluster-wide jobs (several replicas on Redis); 0 would expire them at once.
    lease_seconds = fields.Float(validate=validate.Range(min=0.1, max=3600), allow_nan=False)
    # A session keeps its last TRANSCRIPT_LIMIT messages and TRANSCRIPT_CHARS characters: a
    # budget beyond those would never bind.
    transcript_max_messages = fields.Integer(strict=True, validate=validate.Range(min=1, max=TRANSCRIPT_LIMIT))
    transcript_max_chars = fields.Integer(strict=True, validate=validate.Range(min=100, max=TRANSCRIPT_CHARS))
    session_messages_per_minute = fields.Integer(strict=True, validate=validate.Range(min=1, max=10000))
    connection_messages_per_minute = fields.Integer(strict=True, validate=validate.Range(min=1, max=100000))
    wait_estimate_seconds = fields.Float(allow_nan=False, validate=lambda v: _wait_estimate(v))
    attachment_link_seconds = fields.Float(allow_nan=False, validate=validate.Range(min=1, max=7 * 86400))
    attachment_max_bytes = fields.Integer(strict=True, validate=validate.Range(min=1, max=1024 * 1024 * 1024))


class OpenMessagingSettings:
    """The provider's config seam (manifest.json `handoverProviders[].settings`, a ProviderSettings)."""

    section = "handover"
    schema = HandoverSchema

    def build(self, values: dict[str, Any], env: Mapping[str, str]) -> HandoverSettings:
        """The [handover] table; the ACW variable gives the debounce when the table does not."""
        acw = HandoverSettings.acw_from_env(env)
        if acw is not None:
            values = {"acw_timeout_seconds": acw, **values}
        return HandoverSettings(**values)

    def check_connection(self, values: Mapping[str, Any]) -> dict[str, str]:
        """A host `serve` could not use fails validation, not start-up."""
        try:
            resolve_region(values["host"])
        except ValueError as exc:
            return {"host": str(exc)}
        return {}

    def warnings(self, connections: Sequence[str], public_url: str | None) -> list[str]:
        if connections and public_url is None:
            return [f"server.public_url: not set, so Genesys Cloud cannot be told where to send the webhooks of "
                    f"connection(s) {', '.join(connections)}; set it to the https address at which Genesys Cloud "
                    "reaches this runtime"]
        return []

    def disabled_reason(self, flags: FeatureFlags, organisation: str) -> str | None:
        return om_disabled_reason(flags, organisation)


SETTINGS = OpenMessagingSettings()
