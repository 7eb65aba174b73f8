"""The outcome of a run: the summary, the plan verify checks it against, the closing tables.

Written by one engine, merged over ``--processes`` children, read back by ``verify``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthpay.workflow import schedule

if TYPE_CHECKING:
    from synthpay.config import Settings


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
    # With phases: one row per phase ("" = outside them); see Scenario.phase_report.
    phases: Sequence[Mapping[str, Any]] = ()
    # With phases or drawn delays: per status, configured and realized p50/p99.
    delays: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

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
    plan = {
        "timing": settings.timing,
        "banks_topic": settings.entities.banks_topic,
        "statuses": {s.name: {"topic": s.topic, "delay_ms": s.delay_ms} for s in statuses.values()},
        "workflows": [
            {"label": wf.label, "steps": list(wf.steps),
             "schedule": [[step.status.name, step.offset_ms] for step in schedule(wf, statuses, settings.timing)]}
            for wf in settings.workflows
        ],
    }
    plan.update(scenario_plan(settings))
    return plan


def scenario_plan(settings: Settings) -> dict[str, Any]:
    """What verify needs of phases and drawn delays; nothing for a run without them."""
    plan: dict[str, Any] = {}
    drawn = {s.name: s.delay.describe() for s in settings.statuses.values() if s.delay is not None}
    if drawn:
        plan["delays"] = drawn
    if drawn or settings.phases:
        plan["workflow_names"] = [wf.name for wf in settings.workflows]
        plan["workflow_weights"] = [wf.weight for wf in settings.workflows]
    if settings.phases:
        plan["phases"] = [
            {"name": p.name, "at_s": p.at_s, "duration_s": p.duration_s, "rate": p.rate, "rate_end": p.rate_end,
             "weights": dict(p.weights or {}), "delay_scale": dict(p.delay_scale or {})}
            for p in settings.phases
        ]
    if settings.run.arrival_curve:
        plan["arrival_curve"] = list(settings.run.arrival_curve)
    return plan


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
    parts += render_scenario(summary)
    rate = summary.events_total / summary.elapsed_s if summary.elapsed_s else 0.0
    cut = f", {summary.payments_cut} cut short" if summary.payments_cut else ""
    parts.append(
        f"Generating... [{summary.payments_started}] payments{cut} took {summary.elapsed_s:.3f}s "
        f"({rate:,.0f} events/s, sink {summary.sink}, clock {summary.clock}, seed {summary.seed})"
    )
    return "\n\n".join(parts) + "\n"


def render_scenario(summary: Summary) -> list[str]:
    """The phase and delay tables, for a run with phases or drawn delays."""
    tables = []
    if summary.phases:
        lines = [f"{'PHASE':<20} {'STARTED':>9} {'EVENTS':>9} {'TARGET/s':>10} {'ACHIEVED/s':>10}  MIX"]
        for row in summary.phases:
            mix = ", ".join(f"{name} {share:.0%}" for name, share in row["mix"].items() if share)
            lines.append(f"{row['name'] or '(outside)':<20} {row['started']:>9} {row['events']:>9} "
                         f"{row['target_rate']:>10.1f} {row['achieved_rate']:>10.1f}  {mix}")
        tables.append("\n".join(lines))
    if summary.delays:
        lines = [f"{'STATUS DELAY':<14} {'CONFIGURED':<44} {'P50 ms':>15} {'P99 ms':>17}"]
        for name, row in summary.delays.items():
            configured = " ".join(f"{k}={v}" for k, v in row["configured"].items())
            lines.append(f"{name:<14} {configured:<44} {row['p50_ms']!s:>6} ({row['configured_p50_ms']:>6}) "
                         f"{row['p99_ms']!s:>7} ({row['configured_p99_ms']:>7})")
        tables.append("\n".join(lines) + "\n(realized, with the configured distribution's in brackets)")
    return tables


def _merge_phases(parts: Sequence[Summary]) -> list[dict[str, Any]]:
    """Phase rows added up over the children: counts and rates add, the mix is recomputed."""
    if not parts[0].phases:
        return []
    merged = [dict(row, workflows=dict(row["workflows"])) for row in parts[0].phases]
    for part in parts[1:]:
        for row, other in zip(merged, part.phases):
            for key in ("started", "events", "target_rate", "achieved_rate"):
                row[key] = round(row[key] + other[key], 3)
            for name, count in other["workflows"].items():
                row["workflows"][name] += count
    for row in merged:
        total = row["started"]
        row["mix"] = {name: round(n / total, 4) if total else 0.0 for name, n in row["workflows"].items()}
    return merged


def merge(parts: Sequence[Summary], elapsed_s: float) -> Summary:
    """One summary for the whole run: counts add up, extremes take the extreme.

    Lag percentiles are the worst child's (an upper bound of the run's).
    """
    first = parts[0]

    def total(name: str) -> int:
        return sum(getattr(p, name) for p in parts)

    def added(name: str) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for p in parts:
            counts.update(getattr(p, name))
        return {k: counts[k] for k in getattr(first, name)}

    topics: dict[str, dict[str, int]] = {}
    for p in parts:
        for topic, counts in p.topics.items():
            merged = topics.setdefault(topic, dict.fromkeys(counts, 0))
            for key, value in counts.items():
                merged[key] += value
    firsts = [p.first_event_ts_ms for p in parts if p.first_event_ts_ms is not None]
    lasts = [p.last_event_ts_ms for p in parts if p.last_event_ts_ms is not None]
    return Summary(
        run_id=first.run_id, seed=first.seed, sink=first.sink, clock=first.clock, elapsed_s=round(elapsed_s, 3),
        workflows=added("workflows"), statuses=added("statuses"),
        bank_updates=total("bank_updates"), banks_created=total("banks_created"),
        payments_started=total("payments_started"), payments_completed=total("payments_completed"),
        payments_cut=total("payments_cut"), events_total=total("events_total"), produced=total("produced"),
        delivered=total("delivered"), failed=total("failed"), undelivered=total("undelivered"), topics=topics,
        first_event_ts_ms=min(firsts) if firsts else None, last_event_ts_ms=max(lasts) if lasts else None,
        max_lag_ms=max(p.max_lag_ms for p in parts), plan=first.plan,
        lag_p50_ms=max(p.lag_p50_ms for p in parts), lag_p99_ms=max(p.lag_p99_ms for p in parts),
        setup_s=max(p.setup_s for p in parts), peak_in_flight=total("peak_in_flight"),
        peak_rss_mib=round(sum(p.peak_rss_mib for p in parts), 1),
        # Realized delay percentiles are the first child's: a sample of the whole run's.
        phases=_merge_phases(parts), delays=first.delays,
    )


def load_summary(path: Path) -> Summary:
    """A summary written by ``--summary-json``."""
    data: dict[str, Any] = json.loads(path.read_text())
    return Summary(**{f.name: data[f.name] for f in fields(Summary) if f.name in data})
