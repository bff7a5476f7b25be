"""Counters and histograms rendered in the Prometheus text format, with no extra dependency."""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict

Labels = tuple[tuple[str, str], ...]
DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(values: dict[str, str]) -> Labels:
    return tuple(sorted(values.items()))


def _fmt(labels: Labels, extra: tuple[tuple[str, str], ...] = ()) -> str:
    items = labels + extra
    if not items:
        return ""
    body = ",".join(f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                    for k, v in items)
    return "{" + body + "}"


class Counter:
    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self.values: dict[Labels, float] = defaultdict(float)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        self.values[_labels(labels)] += amount

    def get(self, **labels: str) -> float:
        return self.values.get(_labels(labels), 0.0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        lines += [f"{self.name}{_fmt(k)} {v:g}" for k, v in sorted(self.values.items())]
        return lines


class Gauge:
    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self.values: dict[Labels, float] = {}

    def set(self, value: float, **labels: str) -> None:
        self.values[_labels(labels)] = value

    def get(self, **labels: str) -> float:
        return self.values.get(_labels(labels), 0.0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} gauge"]
        lines += [f"{self.name}{_fmt(k)} {v:g}" for k, v in sorted(self.values.items())]
        return lines


class Histogram:
    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> None:
        self.name, self.help, self.buckets = name, help_text, buckets
        self.counts: dict[Labels, list[int]] = {}
        self.sums: dict[Labels, float] = defaultdict(float)

    def observe(self, seconds: float, **labels: str) -> None:
        key = _labels(labels)
        counts = self.counts.setdefault(key, [0] * (len(self.buckets) + 1))
        counts[bisect.bisect_left(self.buckets, seconds)] += 1
        self.sums[key] += seconds

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        for key, counts in sorted(self.counts.items()):
            total = 0
            for bound, n in zip(self.buckets, counts, strict=False):
                total += n
                lines.append(f"{self.name}_bucket{_fmt(key, (('le', f'{bound:g}'),))} {total}")
            total += counts[-1]
            lines.append(f"{self.name}_bucket{_fmt(key, (('le', '+Inf'),))} {total}")
            lines.append(f"{self.name}_sum{_fmt(key)} {self.sums[key]:g}")
            lines.append(f"{self.name}_count{_fmt(key)} {total}")
        return lines


class Metrics:
    """The runtime's metrics, one registry per app."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.user_inputs = Counter("genesys_om_user_inputs_total", "User inputs by endpoint and outcome.")
        self.sessions_ended = Counter("genesys_om_sessions_ended_total", "Sessions deleted, by reason.")
        self.handovers = Counter("genesys_om_handovers_total", "Handovers by final or current status.")
        self.webhooks = Counter("genesys_om_webhooks_total", "Genesys webhooks by outcome.")
        self.genesys_calls = Counter("genesys_om_genesys_calls_total", "Genesys API calls by status.")
        self.genesys_latency = Histogram("genesys_om_genesys_call_seconds", "Genesys API call latency.")
        self.http_latency = Histogram("genesys_om_http_request_seconds", "Latency of the runtime's routes.")
        self.webhook_latency = Histogram("genesys_om_webhook_ack_seconds", "Webhook acknowledgement latency.")
        self.signature_failures = Counter("genesys_om_webhook_signature_failures_total",
                                          "Webhooks refused for a signature no connection's secret makes, by the "
                                          "connection of the integration their unsigned body names.")
        self.unwatched = Gauge("genesys_om_unwatched_handovers",
                               "Handovers no notification watches (the reconciler checks them), by connection "
                               "and reason.")

    def render(self) -> str:
        parts: list[str] = []
        for metric in (self.user_inputs, self.sessions_ended, self.handovers, self.webhooks, self.genesys_calls,
                       self.genesys_latency, self.http_latency, self.webhook_latency, self.signature_failures,
                       self.unwatched):
            parts.extend(metric.render())
        return "\n".join(parts) + "\n"
