"""Counting what happened, and the summaries made from the counts.

Counters only, never lists: memory does not grow with the number of events.
"""

from __future__ import annotations

import json
import resource
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from synthpay.workflow import schedule

if TYPE_CHECKING:
    from synthpay.config import Settings
    from synthpay.events import Event


class Ledger:
    """Delivery accounting per topic. Written only by the I/O thread; read by summaries.

    Every topic's counters exist from the start, so readers on another thread never see a
    dict change size.
    """

    __slots__ = ("produced", "delivered", "failed", "pending")

    def __init__(self, topics: Iterable[str]) -> None:
        names = list(topics)
        self.produced = dict.fromkeys(names, 0)
        self.delivered = dict.fromkeys(names, 0)
        self.failed = dict.fromkeys(names, 0)
        self.pending = 0  # accepted by the sink, fate not known yet (e.g. librdkafka's queue)

    def written(self, batch: Iterable[Event]) -> None:
        """Count a batch that a synchronous sink accepted and delivered in one go."""
        produced, delivered = self.produced, self.delivered
        for event in batch:
            name = event.topic.name
            produced[name] += 1
            delivered[name] += 1

    def settle(self, pending: int, unknown: Mapping[str, int]) -> None:
        """Count as delivered what is neither failed, of ``unknown`` fate, nor ``pending``.

        For a sink that reports only failures. ``pending`` (the sink's queue) may count a
        message more than once, never less, so the total delivered never runs ahead of the
        truth. With nothing pending every topic's count is exact. Otherwise the newly
        delivered are shared out over the topics in proportion to what each has in flight:
        an estimate per topic, corrected at the next moment nothing is pending.
        """
        produced, delivered, failed = self.produced, self.delivered, self.failed
        self.pending = pending
        in_flight = {name: count - failed[name] - unknown[name] - delivered[name] for name, count in produced.items()}
        if not pending:
            for name, count in in_flight.items():
                delivered[name] += count
            return
        weights = {name: max(0, count) for name, count in in_flight.items()}
        total = sum(weights.values())
        fresh = sum(in_flight.values()) - pending
        if fresh > 0 and total:
            for name, weight in weights.items():
                delivered[name] += weight * fresh // total

    def totals(self) -> tuple[int, int, int]:
        """(produced, delivered, failed) over all topics."""
        return sum(self.produced.values()), sum(self.delivered.values()), sum(self.failed.values())


def peak_rss_mib() -> float:
    """This process's peak resident memory, in MiB.

    From /proc (VmHWM) where there is one: getrusage's ru_maxrss survives exec, so a process
    started by a large one (a test runner, a benchmark) would report its parent's peak.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


#: Scheduling lag is counted per millisecond up to this many ms.
LAG_SLOTS = 60_000


class EngineStats:
    """What the engine emitted. Written only by the Trio scheduler."""

    __slots__ = (
        "emitted", "workflows", "started", "completed", "bank_updates", "banks_created",
        "lag_max_ms", "first_ts_ms", "last_ts_ms", "lag_counts", "peak_in_flight",
    )

    def __init__(self, topics: Iterable[str], workflow_labels: Iterable[str]) -> None:
        self.emitted = dict.fromkeys(topics, 0)
        self.workflows = dict.fromkeys(workflow_labels, 0)
        self.started = 0
        self.completed = 0
        self.bank_updates = 0
        self.banks_created = 0
        self.lag_max_ms = 0
        self.peak_in_flight = 0
        # Events by scheduling lag in whole ms; the last slot collects everything beyond.
        self.lag_counts = [0] * (LAG_SLOTS + 1)
        self.first_ts_ms: int | None = None
        self.last_ts_ms: int | None = None

    @property
    def events(self) -> int:
        """Events emitted so far."""
        return sum(self.emitted.values())

    def record_lag(self, lag_ms: int, events: int) -> None:
        """``events`` were emitted ``lag_ms`` after they were due."""
        self.lag_counts[min(lag_ms, LAG_SLOTS)] += events
        if lag_ms > self.lag_max_ms:
            self.lag_max_ms = lag_ms

    def lag_percentile(self, fraction: float) -> int:
        """The lag in ms that ``fraction`` of events were emitted within (0 when none were measured)."""
        total = sum(self.lag_counts)
        if not total:
            return 0
        wanted, seen = fraction * total, 0
        for lag, count in enumerate(self.lag_counts):
            seen += count
            if seen >= wanted:
                return lag
        return LAG_SLOTS


@dataclass(frozen=True, slots=True)
class Summary:
    """The outcome of a run; written as tables and as ``--summary-json``."""

    run_id: str
    seed: int
    sink: str
    clock: str
    elapsed_s: float
    workflows: Mapping[str, int]
    statuses: Mapping[str, int]
    bank_updates: int
    banks_created: int
    payments_started: int
    payments_completed: int
    payments_cut: int
    events_total: int
    produced: int
    delivered: int
    failed: int
    undelivered: int
    topics: Mapping[str, Mapping[str, int]]
    first_event_ts_ms: int | None
    last_event_ts_ms: int | None
    max_lag_ms: int
    plan: Mapping[str, Any]  # see run_plan
    lag_p50_ms: int
    lag_p99_ms: int
    setup_s: float  # start until the sink was ready (connect, topics, schemas)
    peak_in_flight: int
    peak_rss_mib: float

    @property
    def ok(self) -> bool:
        """True when everything emitted was delivered."""
        return self.failed == 0 and self.undelivered == 0 and self.delivered == self.events_total

    def to_json(self) -> str:
        """The summary as one JSON document."""
        data: dict[str, Any] = asdict(self)
        data["events_per_s"] = round(self.events_total / self.elapsed_s, 1) if self.elapsed_s else None
        data["ok"] = self.ok
        return json.dumps(data, indent=2)


def run_plan(settings: Settings) -> dict[str, Any]:
    """What the run was configured to emit, so ``synthpay verify`` needs only the summary.

    ``schedule`` lists each workflow's statuses in emission order with their exact offset
    from the payment's start (the scheduler stamps ``ts`` with the due time, not the wake-up
    time, so offsets are exact under either clock). No secrets: the summary is shared.
    """
    statuses = settings.statuses
    return {
        "timing": settings.timing,
        "banks_topic": settings.entities.banks_topic,
        "statuses": {s.name: {"topic": s.topic, "delay_ms": s.delay_ms} for s in statuses.values()},
        "workflows": [
            {"label": wf.label, "steps": list(wf.steps),
             "schedule": [[step.status.name, step.offset_ms] for step in schedule(wf, statuses, settings.timing)]}
            for wf in settings.workflows
        ],
    }


def _table(headers: tuple[str, str], rows: list[tuple[str, int]], total: int) -> str:
    width = max([len(headers[0]), len("TOTAL")] + [len(r[0]) for r in rows])
    nwidth = max([len(headers[1]), len(str(total))] + [len(str(r[1])) for r in rows])
    rule = f"+-{'-' * width}-+-{'-' * nwidth}-+"
    lines = [rule, f"| {headers[0]:<{width}} | {headers[1]:>{nwidth}} |", rule]
    lines += [f"| {name:<{width}} | {count:>{nwidth}} |" for name, count in rows]
    lines += [rule, f"| {'TOTAL':<{width}} | {total:>{nwidth}} |", rule]
    return "\n".join(lines)


def render(summary: Summary) -> str:
    """The original generator's closing tables, plus delivery accounting."""
    parts = [
        _table(("WORKFLOW", "COUNT"), list(summary.workflows.items()), summary.payments_started),
        _table(("STATUS", "PRODUCED EVENTS"), list(summary.statuses.items()), sum(summary.statuses.values())),
        _table(("BANKS", "EVENTS"), [("created", summary.banks_created), ("updated", summary.bank_updates)],
               summary.banks_created + summary.bank_updates),
        _table(
            ("DELIVERY", "EVENTS"),
            [("produced", summary.produced), ("delivered", summary.delivered), ("failed", summary.failed),
             ("undelivered", summary.undelivered)],
            summary.events_total,
        ),
    ]
    rate = summary.events_total / summary.elapsed_s if summary.elapsed_s else 0.0
    cut = f", {summary.payments_cut} cut short" if summary.payments_cut else ""
    parts.append(
        f"Generating... [{summary.payments_started}] payments{cut} took {summary.elapsed_s:.3f}s "
        f"({rate:,.0f} events/s, sink {summary.sink}, clock {summary.clock}, seed {summary.seed})"
    )
    return "\n\n".join(parts) + "\n"
