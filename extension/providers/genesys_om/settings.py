"""Tuning of the Genesys handover: retries, end detection, reconciler, delivery notices."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

ACW_TIMEOUT_ENV = "GENESYS_OM_HANDOVER_ACW_AFTER_TRANSFER_TIMEOUT_IN_MS"


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
