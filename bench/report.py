"""bench/RESULTS.md from one run's measurements: the tables, the targets, and what limits ingest."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from extension.genesys.notifications_topics import HANDOVER_KINDS
from extension.providers.genesys_om.channel_slots import MAX_CHANNELS
from extension.providers.genesys_om.notifications import MAX_TOPICS_PER_CHANNEL

from .end_detection import table as end_table

MS = 1000.0
KB = 1024.0
BARE = "bare aiohttp handler"
VERIFY = "bare handler + HMAC check + message parse"
NO_RECEIPT = "runtime, memory store, Delivered receipt off"
LIMIT = "limit: HMAC + parse + one durable SQLite row + Delivered receipt"


@dataclass
class Results:
    """Everything one run measured; `render` turns it into the Markdown file."""

    sizes: Any
    ingest: list[dict[str, Any]]
    inbound: dict[str, float]
    roundtrip: dict[str, float]
    memory: list[dict[str, Any]]
    tokens: dict[str, int]
    cross_replica: dict[str, float] | str  # the figures, or why they were not measured
    seconds: float
    smoke: bool
    notes: list[str] = field(default_factory=list)
    hot: list[dict[str, Any]] = field(default_factory=list)
    end_detection: dict[str, Any] | None = None  # bench/end_detection.py's figures

    def ingest_row(self, server: str) -> dict[str, Any] | None:
        return next((r for r in self.ingest if r["server"] == server), None)


def machine() -> str:
    return (f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} "
            f"{platform.machine()}")


def _ms(value: float) -> str:
    return f"{value * MS:.1f}"


def targets(res: Results) -> list[tuple[str, str, str, bool]]:
    """(target, goal, measured, met) rows, all computed from this run."""
    out: list[tuple[str, str, str, bool]] = []
    for store, goal in (("memory", 0.60), ("sqlite", 0.40)):
        r = res.ingest_row(f"runtime, {store} store")
        if r is not None:
            out.append((f"webhook ingest, {store} store, of the bare handler", f">= {goal:.0%}",
                        f"{r['ratio']:.0%}", r["ratio"] >= goal))
    out += _limit_targets(res)
    out += _redis_targets(res)
    for r in res.ingest:
        if "half_p99" in r:
            out.append((f"p99 acknowledgement at half the peak rate, {r['server'].removeprefix('runtime, ')}",
                        "< 20 ms", f"{_ms(r['half_p99'])} ms", r["half_p99"] * MS < 20))
    out += _hot_targets(res)
    ratio = res.inbound["ours"] / res.inbound["sdk"]
    out.append(("inbound sends, our client against the official SDK", ">= 5x", f"{ratio:.1f}x", ratio >= 5))
    over = res.roundtrip["overhead_p99"]
    out.append(("round-trip overhead p99 (per message, emulator's own time removed)", "< 10 ms",
                f"{_ms(over)} ms", over * MS < 10))
    for m in res.memory:
        total = m["per_session"] + m.get("server_per_session", 0.0)
        where = "runtime RSS + Redis server" if "server_per_session" in m else "runtime RSS"
        out.append((f"memory per idle active handover, {m['store']} store ({where})", "< 5 KB",
                    f"{total / KB:.2f} KB", total < 5 * KB))
    out += _end_targets(res)
    t = res.tokens
    out.append(("token requests per 10,000 messages", "1",
                f"{t['token_requests']} for {t['messages']} messages", t["token_requests"] == 1))
    return out


def _limit_targets(res: Results) -> list[tuple[str, str, str, bool]]:
    """The runtime's CPU per webhook against the least work the job needs (the limit row)."""
    limit, verify, quiet = res.ingest_row(LIMIT), res.ingest_row(VERIFY), res.ingest_row(NO_RECEIPT)
    out: list[tuple[str, str, str, bool]] = []
    if limit is None:
        return out
    for store in ("memory", "sqlite"):
        r = res.ingest_row(f"runtime, {store} store")
        if r is None:
            continue
        ratio = r["cpu"] / limit["cpu"]
        got = f"{ratio:.2f}x ({r['cpu'] * MS:.3f} / {limit['cpu'] * MS:.3f} ms)"
        if ratio > 1.5 and verify is not None and quiet is not None:
            full = res.ingest_row("runtime, memory store") or r
            got += (f": beyond the HMAC and parse, the limit spends {(limit['cpu'] - verify['cpu']) * MS:.3f} ms "
                    f"(its row and receipt); the runtime {(quiet['cpu'] - verify['cpu']) * MS:.3f} ms on its route "
                    f"and stored turn, {(full['cpu'] - quiet['cpu']) * MS:.3f} ms on its receipt")
            if store != "memory":
                got += f", {(r['cpu'] - full['cpu']) * MS:+.3f} ms for the {store} store"
        out.append((f"runtime CPU per webhook against the limit row, {store} store", "<= 1.5x", got, ratio <= 1.5))
    return out


def _hot_targets(res: Results) -> list[tuple[str, str, str, bool]]:
    """One hot conversation: the acknowledgement of a burst, and nothing lost or doubled."""
    out: list[tuple[str, str, str, bool]] = []
    for h in res.hot:
        where = f"one hot conversation ({h['concurrency']} in flight, one handover), {h['store']} store"
        out.append((f"p99 acknowledgement, {where}", "< 50 ms", f"{_ms(h['p99'])} ms", h["p99"] * MS < 50))
        whole = h["lost"] == 0 and h["unique"] == h["delivered"] == h["requests"] and h["errors"] == 0
        out.append((f"every message of the burst reaches the user once, {h['store']} store",
                    f"{h['requests']} of {h['requests']}",
                    f"{h['unique']} of {h['requests']} ({h['lost']} lost, {h['delivered'] - h['unique']} twice, "
                    f"{h['errors']} errors)", whole))
    return out


END_GOAL_HANDOVERS = 100_000
END_GOAL_SECONDS = 15.0


def _end_targets(res: Results) -> list[tuple[str, str, str, bool]]:
    """Every agent end seen within 15 s (p99) with 100,000 handovers open on one connection."""
    e = res.end_detection
    if e is None:
        return []
    got = f"{e['p99']:.3f} s ({e['seen']} of {e['ends']} ends, {e['handovers']} open, {e['topics']} topic(s))"
    why = []
    if e["handovers"] < END_GOAL_HANDOVERS:
        why.append(f"only {e['handovers']} handovers open in this run")
    if e["seen"] < e["ends"]:
        why.append(f"{e['ends'] - e['seen']} ends not seen within a minute")
    if not e["p99"] < END_GOAL_SECONDS:
        why.append(f"p99 over {END_GOAL_SECONDS:g} s at {e['rate']:.0f} ends/s, "
                   f"{e['cpu_per_end_ms']:.1f} ms CPU per end")
    return [("end seen p99 < 15 s, 100,000 handovers on one connection", "< 15 s",
             got + (f": {'; '.join(why)}" if why else ""), not why)]


def _redis_targets(res: Results) -> list[tuple[str, str, str, bool]]:
    """The Redis store against the memory store, in the same run."""
    redis, memory = res.ingest_row("runtime, redis store"), res.ingest_row("runtime, memory store")
    if redis is None or memory is None:
        return []
    rate, cpu = redis["rate"] / memory["rate"], redis["cpu"] / memory["cpu"]
    why = (f": the Redis client's work, {(redis['cpu'] - memory['cpu']) * MS:.3f} ms per webhook "
           f"(the runtime used {redis['server_busy']:.0%} of a core)")
    return [("webhook ingest, redis store, of the memory store's", ">= 70%",
             f"{rate:.0%}" + ("" if rate >= 0.7 else why), rate >= 0.7),
            ("CPU per webhook, redis store, against the memory store's", "<= 1.3x",
             f"{cpu:.2f}x" + ("" if cpu <= 1.3 else why), cpu <= 1.3)]


def limits(res: Results) -> list[str]:
    """What limits webhook ingest, from the CPU per request of the decomposition rows of this run."""
    bare, verify, full = res.ingest_row(BARE), res.ingest_row(VERIFY), res.ingest_row("runtime, memory store")
    quiet = res.ingest_row(NO_RECEIPT)
    if not (bare and verify and full and quiet):
        return ["(not every decomposition row was measured in this run)"]
    total = full["cpu"]
    parts = [("aiohttp serving the request (the bare handler)", bare["cpu"]),
             ("the HMAC check and parsing the message", verify["cpu"] - bare["cpu"]),
             ("the runtime's webhook route and the stored turn (lookup, lock, dedup, event, commit)",
              quiet["cpu"] - verify["cpu"]),
             ("the `Delivered` receipt posted to Genesys (docs/CONTRACT.md 6.3)", total - quiet["cpu"])]
    lines = [f"CPU per request of the runtime with the memory store, {total * MS:.3f} ms, splits as follows "
             "(each part is the difference between two rows of the table in section 1, so it is measured, "
             "not estimated):", ""]
    lines += [f"- {label}: {cost * MS:.3f} ms ({cost / total:.0%})" for label, cost in parts]
    for store in ("sqlite", "redis"):
        r = res.ingest_row(f"runtime, {store} store")
        if r is not None:
            extra = r["cpu"] - total
            lines.append(f"- the {store} store instead of memory: {extra * MS:+.3f} ms per request "
                         f"({r['cpu'] / total:.2f}x the memory store's CPU)")
    lines += ["", f"During the memory-store peak the runtime used {full['server_busy']:.0%} of a core, the load "
              f"generator {full['loadgen_busy']:.0%} and the emulator (answering the receipts) "
              f"{full['emulator_busy']:.0%}: the limit is {_bound(full)}. Against the bare handler the load "
              f"generator used {bare['loadgen_busy']:.0%} of a core and the handler {bare['server_busy']:.0%}: the "
              f"limit there is {_bound(bare)}."]
    return lines


def _bound(r: dict[str, Any]) -> str:
    """Which process saturated its core in a run (one Python process uses at most one core)."""
    if r["server_busy"] >= 0.85:
        return "the server's own CPU"
    if r["loadgen_busy"] >= 0.85:
        return "the load generator, so that rate is the most it can drive"
    cores = os.cpu_count() or 1
    if r["server_busy"] + r["loadgen_busy"] + r["emulator_busy"] >= 0.8 * cores:
        return f"the machine's {cores} cores, shared by the three processes"
    return "no process's CPU (waiting on each other or on the machine)"


def render(res: Results) -> str:
    s = res.sizes
    lines = [
        "# Benchmark results", "",
        f"{'SMOKE RUN (tiny sizes, numbers meaningless). ' if res.smoke else ''}Generated by `make bench` "
        f"(`python -m bench.run`) on {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; machine: {machine()}; "
        f"took {res.seconds:.0f} s. Every ratio compares two things measured in this same run.", "",
        "Process layout: the server under test (the runtime, or a bare handler), the load generator and the "
        "emulator that receives the runtime's calls are separate processes, spread over the cores by the OS; "
        "the ingest table shows how much of a core each used, so a limit is visible as a saturated process. "
        "The memory section (not a timing) measures its stores side by side.", "",
        "## Targets", "",
        "| target | goal | measured | met |", "|---|---|---:|---|",
    ]
    lines += [f"| {name} | {goal} | {got} | {'met' if ok else 'MISSED'} |" for name, goal, got, ok in targets(res)]
    lines += [
        "", f"## 1. Webhook ingest ({s.webhooks} signed agent messages, unique ids, {s.handovers} active "
        f"handovers, {s.concurrency} in flight)", "",
        "| server | requests/s | p50 ms | p99 ms | ratio to bare | CPU ms per request (ratio) "
        "| server CPU | load generator CPU | emulator CPU | p50 / p99 ms at half the peak rate | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res.ingest:
        half = (f"{_ms(r['half_p50'])} / {_ms(r['half_p99'])} at {r['half_rate']:.0f}/s" if "half_p50" in r else "-")
        errors = r["errors"] + r.get("half_errors", 0) + r.get("serial_errors", 0)
        lines.append(f"| {r['server']} | {r['rate']:.0f} | {_ms(r['p50'])} | {_ms(r['p99'])} | {r['ratio']:.2f} | "
                     f"{r['cpu'] * MS:.3f} ({r['cpu_ratio']:.2f}) | {r['server_busy']:.0%} | "
                     f"{r['loadgen_busy']:.0%} | {r['emulator_busy']:.0%} | {half} | {errors} |")
    lines += [
        "", "Handovers are started through the runtime's real start path against the emulator (a greeting, "
        "then the handoverToAgent node: the inbound message, the indexes, the notifications watch) and an "
        "agent accepts each conversation in the emulator before the load starts. `errors` counts every answer "
        "that is not a 200 saying `delivered` or `accepted` (behind a busy session for longer than "
        "`webhook_wait_seconds`: stored, delivered after the answer; the limit row only ever says `delivered`), "
        "peak, half-rate and one-at-a-time runs together.", "",
        "### Acknowledgement latency, one webhook at a time", "",
        "| store | webhooks | p50 ms | p99 ms |", "|---|---:|---:|---:|",
    ]
    lines += [f"| {r['server'].removeprefix('runtime, ')} | {r['serial_count']} | {_ms(r['serial_p50'])} | "
              f"{_ms(r['serial_p99'])} |" for r in res.ingest if "serial_p50" in r]
    lines += _hot(res)
    lines += ["", "## What limits webhook ingest", "", *limits(res)]
    inbound = res.inbound
    lines += [
        "", f"## 2. Inbound sends ({s.sessions} concurrent sessions x {s.per_session} messages, emulator "
        "with 10 ms added latency)", "",
        "| client | messages/s | ratio |", "|---|---:|---:|",
        f"| our client (aiohttp, one in flight per session) | {inbound['ours']:.0f} | "
        f"{inbound['ours'] / inbound['sdk']:.1f}x |",
        f"| official SDK purecloudplatformclientv2 (default configuration, one thread per session) | "
        f"{inbound['sdk']:.0f} | 1.0x |",
    ]
    rt = res.roundtrip
    lines += [
        "", f"## 3. Round trip user -> agent (emulator auto-reply) -> user's WebSocket ({rt['count']:.0f} "
        "messages, one at a time)", "",
        "| | p50 ms | p99 ms |", "|---|---:|---:|",
        f"| through the runtime | {_ms(rt['full_p50'])} | {_ms(rt['full_p99'])} |",
        f"| the emulator's own time for the same messages | {_ms(rt['own_p50'])} | {_ms(rt['own_p99'])} |",
        f"| runtime overhead per message (the two above, paired) | {_ms(rt['overhead_p50'])} | "
        f"{_ms(rt['overhead_p99'])} |",
        f"| reference: emulator with a bare receiver instead of the runtime | {_ms(rt['alone_p50'])} | "
        f"{_ms(rt['alone_p99'])} |",
        "", "The emulator's own time is, for each message, its arrival at the emulator until the auto-reply "
        "webhook leaves, from the emulator's records; the overhead is the full round trip minus that, message "
        "by message, so it holds the runtime's work and the loopback hops it adds (WebSocket, two HTTP). "
        f"Of it, p50 {_ms(rt['inbound_p50'])} ms go from the user's frame until the message reaches the emulator "
        f"(input turn, outbox, the inbound POST) and p50 {_ms(rt['outbound_p50'])} ms from the webhook leaving "
        "the emulator until the user's WebSocket has it (webhook, delivery turn, event push).",
    ]
    lines += _memory(res)
    t = res.tokens
    lines += ["", "## 5. Token economy", "",
              f"{t['messages']} inbound messages on one connection needed **{t['token_requests']}** token "
              "request(s)."]
    lines += ["", "## 6. Cross-replica wake-up (Redis)", ""]
    xr = res.cross_replica
    if isinstance(xr, str):
        lines.append(f"Not measured: {xr}.")
    else:
        lines += ["| samples | p50 ms | p99 ms | the commit's own round trip, p50 ms |", "|---:|---:|---:|---:|",
                  f"| {xr['samples']:.0f} | {xr['p50_ms']:.2f} | {xr['p99_ms']:.2f} | {xr['commit_p50_ms']:.2f} |",
                  "", "From just before a commit on one store instance until a reader waiting on another "
                  "instance (another replica) returns the event."]
    lines += _end_section(res)
    if res.notes:
        lines += ["", "## Notes", "", *(f"- {n}" for n in res.notes)]
    return "\n".join(lines) + "\n"


def _memory(res: Results) -> list[str]:
    lines = ["", "## 4. Memory per idle active handover", "",
             "| store | handovers | runtime RSS growth per handover | total | SQLite file per handover "
             "| Redis server memory per handover | handovers subscribed | channels |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for m in res.memory:
        disk = f"{m['disk_per_session'] / KB:.2f} KB" if "disk_per_session" in m else "-"
        server = f"{m['server_per_session'] / KB:.2f} KB" if "server_per_session" in m else "-"
        lines.append(f"| {m['store']} | {m['sessions']} | {m['per_session'] / KB:.2f} KB | {m['total_mb']:.1f} MB "
                     f"| {disk} | {server} | {m['watched']} | {m['channels']} |")
    lines += [
        "", "A real runtime process, handovers started through its start path against the emulator (session, "
        "event log, the two indexes, the notifications watch, the reconciler's index), measured after a "
        "warm-up; RSS after a garbage collection. "
        f"Genesys allows {MAX_CHANNELS} notifications channels of "
        f"{MAX_TOPICS_PER_CHANNEL} topics per OAuth client (docs/GENESYS_NOTES.md section 7) and a handover takes "
        f"{len(HANDOVER_KINDS)} topics, so one connection can subscribe at most "
        f"{MAX_CHANNELS * (MAX_TOPICS_PER_CHANNEL // len(HANDOVER_KINDS))} handovers. Past that the "
        "runtime logs `every notifications channel is full` once and queues the new handovers: they are "
        "subscribed when an ended handover frees room; until then their ends are found by the reconciler (a "
        "quiet handover is checked against Genesys every `reconcile_interval_seconds`, `reconcile_batch` at a "
        "time) or by an HTTP end event; the column `handovers subscribed` shows where that started. "
        "In this run the runtime logged that line " + ", ".join(f"{m['full_logs']} times ({m['store']})"
                                                                 for m in res.memory) + ".",
    ]
    return lines


def _hot(res: Results) -> list[str]:
    if not res.hot:
        return []
    base = res.ingest_row(BARE)
    lines = ["", "### One hot conversation: every webhook for one handover at once", "",
             "| store | webhooks | in flight | requests/s | p50 ms | p99 ms | CPU ms per request | reached the user "
             "| out of send order | errors |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {h['store']} | {h['requests']} | {h['concurrency']} | {h['rate']:.0f} | {_ms(h['p50'])} | "
              f"{_ms(h['p99'])} | {h['cpu'] * MS:.3f} | {h['unique']} | {h['inversions']} | {h['errors']} |"
              for h in res.hot]
    lines += ["", "All the agent's messages go to one active handover, as a burst from Genesys does. A message "
              "that finds its session free is delivered inline and answered `delivered`; one behind a busy "
              "session (the turn of the message before it) is written to the store first and answered "
              "`accepted`, and the session's drainer delivers the backlog in arrival order, a batch per turn "
              "(both answers count as a success; anything else is an error). Afterwards the user's events are "
              "read back: `reached the user` counts distinct messages. `out of send order` counts adjacent "
              "pairs the user got in another order than the load generator sent them: with many requests in "
              "flight the order they reach the runtime is not the send order, and the runtime keeps the order "
              "it received them in (tests/handover/test_hot_conversation.py checks that, and after a kill)."
              + (f" For reference, the bare handler's p99 at {res.sizes.concurrency} in flight in this run: "
                 f"{_ms(base['p99'])} ms." if base else "")]
    return lines


def _end_section(res: Results) -> list[str]:
    e = res.end_detection
    if e is None:
        return []
    return ["", f"## 7. End detection at scale ({e['handovers']} open handovers on one connection, "
            f"`end_topics = \"queue\"`)", "", *end_table(e), "",
            f"Each of {e['ends']} agent ends (chosen at random among the open handovers, sent at "
            f"{e['rate']:.0f} per second) is timed from just before the emulator's agent end until the runtime "
            "has finished that handover (its followers' `ended` callback: the flow resumed). The emulator and "
            "the runtime share this process and one core, the notifications channel a real WebSocket on "
            "loopback: the emulator's own publishing counts in every delay. Seeding is not the start path (it "
            "would take about an hour for 100,000): one handover is started through it, its stored session is "
            "copied for each conversation with the conversation index entries a start writes, the emulator's "
            "conversations are answered by an agent, and the notifications duty re-syncs from the index as "
            f"after a restart (took {e['seed_seconds']:.1f} s). Runtime RSS per handover is the process' growth "
            "over that seeding (the memory store's sessions included), the emulator's conversations made before. "
            f"The agent's end disconnects the customer too, so the queue event ends the handover at once; "
            f"without that the `acw_timeout_seconds` debounce ({e['acw_timeout']:g} s) adds to each delay. "
            f"CPU per end (runtime and emulator together): {e['cpu_per_end_ms']:.2f} ms. While the ends ran, "
            f"the event loop stalled at most {e['lag_max']:.3f} s; the longest garbage collection took "
            f"{e['gc_max']:.3f} s ({e['gc_full']} full ones). One re-sync of the notifications holder over "
            f"the whole conversation index took {e['resync_seconds']:.1f} s of wall time, walked in slices with "
            "events handled between them; it is due once a second, so at this size it runs nearly all the "
            "time. The slow tail of the delays is steps over every handover on the event loop (an asyncio "
            "debug run at 30,000 named the holder's re-sync, before it was sliced, and the reconciler's "
            "regular pass, which sorts the whole index every `reconcile_interval_seconds`), not the event "
            "path (p50)."]
