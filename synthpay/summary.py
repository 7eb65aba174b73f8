"""The outcome of a run: the summary, the plan verify checks it against, the closing tables.

Written by one engine, merged over ``--processes`` children, read back (by both of those
and by ``verify``) through :func:`load_summary`, the one parser of ``--summary-json`` files.
"""

from __future__ import annotations

import json
import types
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin, get_type_hints

from synthpay.delays import Delay
from synthpay.timeline import Phase
from synthpay.workflow import Timing, schedule

if TYPE_CHECKING:
    from synthpay.settings import Settings


class SummaryError(Exception):
    """A summary file that cannot be used; the message is one line naming the file and the problem."""


@dataclass(frozen=True, slots=True)
class PlannedStatus:
    """Where a status's events go and how long after the previous step (or the start) they come."""

    topic: str
    delay_ms: int


@dataclass(frozen=True, slots=True)
class PlannedWorkflow:
    """A configured workflow and its schedule: (status, offset from the payment's start) in emission order."""

    label: str
    steps: tuple[str, ...]
    schedule: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class HotBanks:
    """Zipf popularity: the exponent and how many banks each side picks from."""

    zipf_s: float
    sources: int
    destinations: int


@dataclass(frozen=True, slots=True)
class RunPlan:
    """What the run was configured to emit (the field order is the JSON's).

    The fields after ``workflows`` are filled only for a run with phases, drawn delays or
    an arrival curve (and absent from an older summary).
    """

    timing: Timing
    banks_topic: str
    statuses: Mapping[str, PlannedStatus]
    workflows: tuple[PlannedWorkflow, ...]
    delays: Mapping[str, Delay] = field(default_factory=dict)  # the statuses whose delays are drawn
    workflow_names: tuple[str, ...] = ()
    workflow_weights: tuple[int, ...] = ()
    phases: tuple[Phase, ...] = ()
    arrival_curve: tuple[float, ...] = ()
    hot_banks: HotBanks | None = None  # with popularity = "zipf"


@dataclass(frozen=True, slots=True)
class DelayReport:
    """A status's delays: the configured distribution's p50/p99 beside the realized ones."""

    configured: Delay
    configured_p50_ms: float
    configured_p99_ms: float
    count: int
    p50_ms: int | None  # None when no delay was drawn
    p99_ms: int | None


@dataclass(frozen=True, slots=True)
class PhaseReport:
    """One phase of the run ("" = outside every phase): starts, rate, workflow mix, delays."""

    name: str
    started: int
    events: int
    seconds: float  # how long it ran
    target_rate: float
    achieved_rate: float
    workflows: Mapping[str, int]
    mix: Mapping[str, float]
    delay_scale: Mapping[str, float]
    delays: Mapping[str, DelayReport]


@dataclass(frozen=True, slots=True)
class PhaseAnomalies:
    """What [anomalies] and a phase's overrides injected in one phase ("" = outside every phase).

    late, duplicate and missing count the events emitted while the phase was in force;
    out_of_order the payments that started in it.
    """

    name: str
    rates: Mapping[str, float]
    candidates: Mapping[str, int]
    injected: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class AnomalyReport:
    """What [anomalies] injected: the ground truth a pipeline under test is checked against.

    ``candidates`` are the events (payments for out_of_order) a kind could befall and
    ``injected`` those it did, so ``injected / candidates`` is the realized rate; ``by_topic``
    counts the labelled records per kind and topic (one per swapped payment), and for
    missing the events never emitted. ``missing`` counts those per status and
    ``missing_ids`` lists their payment ids per status (the first MISSING_IDS_CAP of a run),
    ``missing_ts`` beside each the ts it would have had, so verify can fill the hole. With
    phases, ``phases`` has the same per phase, and ``rates`` are the run's (outside them).
    """

    rates: Mapping[str, float]
    candidates: Mapping[str, int]
    injected: Mapping[str, int]
    by_topic: Mapping[str, Mapping[str, int]]
    missing: Mapping[str, int]
    missing_ids: Mapping[str, tuple[str, ...]]
    missing_ts: Mapping[str, tuple[int, ...]]
    phases: tuple[PhaseAnomalies, ...] = ()


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
    plan: RunPlan
    lag_p50_ms: int
    lag_p99_ms: int
    setup_s: float  # start until the sink was ready (connect, topics, schemas)
    peak_in_flight: int
    peak_rss_mib: float
    # With phases: one row per phase ("" = outside them); see Scenario.phase_report.
    phases: tuple[PhaseReport, ...] = ()
    # With phases or drawn delays: per status, configured and realized p50/p99.
    delays: Mapping[str, DelayReport] = field(default_factory=dict)
    # With [anomalies]: what was injected, per kind.
    anomalies: AnomalyReport | None = None

    @property
    def ok(self) -> bool:
        """True when everything emitted was delivered."""
        return self.failed == 0 and self.undelivered == 0 and self.delivered == self.events_total

    def to_json(self) -> str:
        """The summary as one JSON document."""
        data: dict[str, Any] = asdict(self)
        # What only a scenario run has is left out of any other run's summary, which stays
        # as it was before scenarios existed (the loader fills in the defaults).
        tables = ((data, Summary), (data["plan"], RunPlan), (data["anomalies"] or {}, AnomalyReport))
        for table, kind in tables:
            for f in fields(kind):
                if f.default is not MISSING or f.default_factory is not MISSING:
                    if f.name in table and not table[f.name]:
                        del table[f.name]
        data["events_per_s"] = round(self.events_total / self.elapsed_s, 1) if self.elapsed_s else None
        data["ok"] = self.ok
        return json.dumps(data, indent=2)


def run_plan(settings: Settings) -> RunPlan:
    """What the run was configured to emit, so ``synthpay verify`` needs only the summary.

    ``schedule`` lists each workflow's statuses in emission order with their exact offset
    from the payment's start (the scheduler stamps ``ts`` with the due time, not the wake-up
    time, so offsets are exact under either clock). No secrets: the summary is shared.
    """
    statuses = settings.statuses
    return RunPlan(
        timing=settings.timing,
        banks_topic=settings.entities.banks_topic,
        statuses={s.name: PlannedStatus(s.topic, s.delay_ms) for s in statuses.values()},
        workflows=tuple(
            PlannedWorkflow(wf.label, wf.steps,
                            tuple((step.status.name, step.offset_ms) for step in schedule(wf, statuses, settings.timing)))
            for wf in settings.workflows
        ),
        **_scenario_plan(settings),
        hot_banks=(HotBanks(entity.zipf_s, entity.sources, entity.destinations)
                   if (entity := settings.entities).popularity == "zipf" else None),
    )


def _scenario_plan(settings: Settings) -> dict[str, Any]:
    """What verify needs of phases and drawn delays; nothing for a run without them."""
    drawn = {s.name: s.delay for s in settings.statuses.values() if s.delay is not None}
    if not drawn and not settings.phases and not settings.run.arrival_curve:
        return {}
    return {
        "delays": drawn,
        "workflow_names": tuple(wf.name for wf in settings.workflows),
        "workflow_weights": tuple(wf.weight for wf in settings.workflows),
        # Plain dicts: the summary is written with asdict, which cannot copy a mapping proxy.
        "phases": tuple(replace(p, weights=dict(p.weights) if p.weights else None,
                                delay_scale=dict(p.delay_scale) if p.delay_scale else None,
                                anomalies=dict(p.anomalies) if p.anomalies else None)
                        for p in settings.phases),
        "arrival_curve": settings.run.arrival_curve,
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
    parts += render_scenario(summary)
    if summary.anomalies is not None:
        injected = summary.anomalies.injected
        parts.append(_table(("ANOMALY", "INJECTED"), list(injected.items()), sum(injected.values())))
        if summary.anomalies.phases:
            parts.append(_render_phase_anomalies(summary.anomalies.phases))
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
            mix = ", ".join(f"{name} {share:.0%}" for name, share in row.mix.items() if share)
            lines.append(f"{row.name or '(outside)':<20} {row.started:>9} {row.events:>9} "
                         f"{row.target_rate:>10.1f} {row.achieved_rate:>10.1f}  {mix}")
        tables.append("\n".join(lines))
    if summary.delays:
        lines = [f"{'STATUS DELAY':<14} {'CONFIGURED':<44} {'P50 ms':>15} {'P99 ms':>17}"]
        for name, report in summary.delays.items():
            configured = " ".join(f"{k}={v}" for k, v in report.configured.describe().items())
            lines.append(f"{name:<14} {configured:<44} {report.p50_ms!s:>6} ({report.configured_p50_ms:>6}) "
                         f"{report.p99_ms!s:>7} ({report.configured_p99_ms:>7})")
        tables.append("\n".join(lines) + "\n(realized, with the configured distribution's in brackets)")
    return tables


def _render_phase_anomalies(rows: Sequence[PhaseAnomalies]) -> str:
    """Per phase and kind: injected of candidates, the realized rate beside the configured one."""
    lines = [f"{'PHASE':<20} {'ANOMALY':<13} {'INJECTED':>9} {'OF':>10} {'REALIZED':>9} {'RATE':>9}"]
    for row in rows:
        for kind, rate in row.rates.items():
            n, hits = row.candidates[kind], row.injected[kind]
            realized = f"{hits / n:.4f}" if n else "-"
            lines.append(f"{row.name or '(outside)':<20} {kind:<13} {hits:>9} {n:>10} {realized:>9} {rate:>9.4f}")
    return "\n".join(lines)


def _merge_phases(parts: Sequence[Summary]) -> tuple[PhaseReport, ...]:
    """Phase rows added up over the children: counts and rates add, the mix is recomputed."""
    return tuple(_merge_phase(rows) for rows in zip(*(p.phases for p in parts)))


def _added(maps: Iterable[Mapping[str, int]]) -> Counter[str]:
    """The mappings added up key by key (a key stays, even at zero); the caller picks the key order."""
    total: Counter[str] = Counter()
    for counts in maps:
        total.update(counts)
    return total


def _merge_phase(rows: Sequence[PhaseReport]) -> PhaseReport:
    workflows = _added(row.workflows for row in rows)
    started = sum(row.started for row in rows)
    return replace(
        rows[0], started=started, events=sum(row.events for row in rows),
        target_rate=round(sum(row.target_rate for row in rows), 3),
        achieved_rate=round(sum(row.achieved_rate for row in rows), 3),
        workflows={name: workflows[name] for name in rows[0].workflows},
        mix={name: round(workflows[name] / started, 4) if started else 0.0 for name in rows[0].workflows},
    )


def merge(parts: Sequence[Summary], elapsed_s: float) -> Summary:
    """One summary for the whole run: counts add up, extremes take the extreme.

    Lag percentiles are the worst child's (an upper bound of the run's).
    """
    first = parts[0]

    def total(name: str) -> int:
        return sum(getattr(p, name) for p in parts)

    def added(name: str) -> dict[str, int]:
        counts = _added(getattr(p, name) for p in parts)
        return {k: counts[k] for k in getattr(first, name)}

    topics: dict[str, dict[str, int]] = {}
    for topic in dict.fromkeys(topic for p in parts for topic in p.topics):
        present = [p.topics[topic] for p in parts if topic in p.topics]
        counts = _added(present)
        topics[topic] = {k: counts[k] for k in present[0]}
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
        phases=_merge_phases(parts), delays=first.delays, anomalies=_merge_anomalies(parts),
    )


def _merge_anomalies(parts: Sequence[Summary]) -> AnomalyReport | None:
    """The children's anomaly counts added up (the missing ids of all, each child's capped)."""
    reports = [p.anomalies for p in parts if p.anomalies is not None]
    if not reports:
        return None

    def added(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
        return dict(sorted(_added(counts).items()))

    ids: dict[str, tuple[str, ...]] = {}
    times: dict[str, tuple[int, ...]] = {}
    for r in reports:
        for status, listed in r.missing_ids.items():
            ids[status] = ids.get(status, ()) + listed
            times[status] = times.get(status, ()) + r.missing_ts[status]
    return AnomalyReport(
        rates=reports[0].rates,
        candidates=added([r.candidates for r in reports]),
        injected=added([r.injected for r in reports]),
        by_topic={kind: added([r.by_topic.get(kind, {}) for r in reports]) for kind in reports[0].by_topic},
        missing=added([r.missing for r in reports]),
        missing_ids=ids,
        missing_ts=times,
        phases=tuple(replace(rows[0], candidates=added([r.candidates for r in rows]),
                             injected=added([r.injected for r in rows]))
                     for rows in zip(*(r.phases for r in reports))),
    )


#: The counts every topic of a summary carries.
TOPIC_COUNTS = ("emitted", "produced", "delivered", "failed")
_HINT = "write one with `synthpay run --summary-json PATH`"


class _Bad(Exception):
    """Where in the document (a dotted path) and what is wrong there."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where or 'the document'}: {problem}")


def load_summary(path: str | Path) -> Summary:
    """A summary written by ``--summary-json``; SummaryError names what is wrong with the file."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise SummaryError(f"summary {str(path)!r}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise SummaryError(f"summary {str(path)!r}: not JSON: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise SummaryError(f"summary {str(path)!r}: not JSON a summary can be: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and integers too long to convert
        raise SummaryError(f"summary {str(path)!r}: not JSON: {exc}") from None
    try:
        summary: Summary = _typed(data, Summary, "")
        _check_consistent(summary)
    except _Bad as exc:
        raise SummaryError(f"summary {str(path)!r}: not a synthpay run summary ({exc}); {_HINT}") from None
    return summary


def _typed(value: Any, hint: Any, where: str) -> Any:
    """``value`` (parsed JSON) as an instance of the type ``hint``, or _Bad naming where it is not."""
    origin, args = get_origin(hint), get_args(hint)
    if isinstance(hint, type) and is_dataclass(hint):
        if not isinstance(value, dict):
            raise _Bad(where, "expected an object")
        hints = get_type_hints(hint)
        # A field with a default may be missing: it came after the summary's version.
        missing = [f.name for f in fields(hint) if f.name not in value
                   and f.default is MISSING and f.default_factory is MISSING]
        if missing:
            raise _Bad(_at(where, missing[0]), "missing")
        return hint(**{f.name: _typed(value[f.name], hints[f.name], _at(where, f.name))
                       for f in fields(hint) if f.name in value})
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _typed(value, next(a for a in args if a is not type(None)), where)
    if origin is Literal:
        if value not in args:
            raise _Bad(where, f"expected one of {', '.join(map(repr, args))}, got {_shown(value)}")
        return value
    if origin is Mapping:
        if not isinstance(value, dict):
            raise _Bad(where, "expected an object")
        return {k: _typed(v, args[1], _at(where, k)) for k, v in value.items()}
    if origin is tuple:
        if not isinstance(value, list) or (args[-1] is not Ellipsis and len(value) != len(args)):
            raise _Bad(where, "expected a list" if args[-1] is Ellipsis else f"expected a list of {len(args)}")
        kinds = [args[0]] * len(value) if args[-1] is Ellipsis else list(args)
        return tuple(_typed(v, kind, f"{where}[{i}]") for i, (v, kind) in enumerate(zip(value, kinds)))
    return _scalar(value, hint, where)


def _scalar(value: Any, hint: Any, where: str) -> Any:
    # bool is an int to Python, never to a summary.
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is str and isinstance(value, str):
        return value
    expected = {int: "a whole number", float: "a number", str: "a string"}[hint]
    raise _Bad(where, f"expected {expected}, got {_shown(value)}")


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _shown(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "a list"
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_consistent(summary: Summary) -> None:
    """What the types alone do not say: the plan names only its own statuses, every topic has its counts."""
    plan = summary.plan
    for i, wf in enumerate(plan.workflows):
        for j, (status, _) in enumerate(wf.schedule):
            if status not in plan.statuses:
                raise _Bad(f"plan.workflows[{i}].schedule[{j}]", f"status {status!r} is not in plan.statuses")
    for topic, counts in summary.topics.items():
        missing = [name for name in TOPIC_COUNTS if name not in counts]
        if missing:
            raise _Bad(_at(_at("topics", topic), missing[0]), "missing")
