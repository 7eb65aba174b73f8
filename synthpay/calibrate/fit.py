"""From a :class:`Profile` to what a fitted configuration says: the decisions of ``synthpay fit``.

:func:`fit` turns what one pass over the data knows into frozen :class:`Fitted` parts, each
with the evidence it was chosen on (the report prints it, the TOML writer comments with it)
and, in :attr:`Fitted.not_expressed`, what the data shows that the configuration cannot say.
Nothing identifying is carried over: status names and currency codes (as keys of a mix) are
the only strings taken from the data; everything else is counts and parameters.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from operator import sub
from typing import Final, Literal

from synthpay.calibrate import changepoints, families, zipf
from synthpay.calibrate.paths import SIGMAS, Group, classify, grouped
from synthpay.calibrate.profile import Bin, Path, Profile, Sample
from synthpay.config.settings import DEFAULT_STATUSES, MAX_PHASES
from synthpay.model import goodness
from synthpay.model.delays import Delay
from synthpay.model.entities import CURRENCIES, UNIFORM_AMOUNTS
from synthpay.model.workflow import Timing

Arrivals = Literal["poisson", "constant"]
Popularity = Literal["uniform", "zipf"]

#: The delay families, in the order the configuration lists them.
FAMILIES: Final = ("fixed", "uniform", "exponential", "lognormal", "normal")
#: Significance for the two-sample and homogeneity tests that split a fit (per-workflow delays, a phase's mix).
_ALPHA: Final = 0.001
#: A per-workflow delay needs this two-sample KS statistic too: a large difference, not only a significant one.
_KS_SPLIT: Final = 0.05
#: Payments of a workflow a per-workflow delay is fitted on, at least.
_MIN_SPLIT_VALUES: Final = 200
#: Payments in orders other than each workflow's usual one: above this share (and above what
#: out-of-order events explain) the statuses run in parallel.
_REORDERED: Final = 0.01
#: Coefficient of variation of the gaps between starts below which the arrivals are constant.
_CV_CONSTANT: Final = 0.5
#: Hours of data from which the hour-of-day arrival curve is fitted.
_CURVE_HOURS: Final = 20.0
#: Incidents shorter than this are not phases.
_MIN_INCIDENT_MS: Final = 60_000
#: A departure of the rate alone within this factor of the rate outside is no phase: over
#: a day of data the test finds every hour that strays a little from the hourly curve, and
#: a phase that changes the rate by a few percent says nothing a user would act on.
_RATE_DEPARTS: Final = 1.1
#: Workers: payments in flight at the peak rate over a long-tail lifetime, times this.
_WORKER_MARGIN: Final = 2.0
_WORKERS_MIN, _WORKERS_MAX = 100, 1_000_000
#: The configuration's ranges (synthpay.config.settings and parsers).
_MAX_MS: Final = 86_400_000.0
_MAX_DURATION_S: Final = 31_536_000.0
_RATE_MIN, _RATE_MAX = 0.001, 1_000_000.0
_WEIGHT_MAX: Final = 1_000_000
_SCALE_MAX: Final = 1_000.0
_STATUS_NAME_MAX: Final = 249 - len("payment-")
#: What the configuration takes as a status name (an ASCII letter or digit at least: topics are named after it).
_STATUS_NAME: Final = re.compile(r"[A-Za-z0-9_]*[A-Za-z0-9][A-Za-z0-9_]*")
_CURRENCY: Final = re.compile(r"[A-Z]{3}")
#: Amounts: drawn in whole cents, parameters up to what [amounts] accepts.
_CENT: Final = 0.01
_AMOUNT_MAX: Final = 100_000_000.0
_FIRST_NOTE: Final = "the first step: no event marks a payment's start, so its own delay is unobservable; fixed 0"
_FIRST_NOTE_PARALLEL: Final = (
    "the first step: no event marks a payment's start, so its own delay is unobservable; fixed {lead:g} ms, "
    "the time the earliest status can come before it (its 0.1% and 0.2% quantiles extrapolated), "
    "which every other delay adds to its time since it"
)
#: The low quantile of the times since the first step the least of them is estimated from (parallel timing).
_LEAD_QUANTILE: Final = 0.001
_DEFAULT_STATUS_NAMES: Final = frozenset(name for name, _, _ in DEFAULT_STATUSES)
_ORIGINAL_CODES: Final = frozenset(CURRENCIES)
#: A currency under this share of payments is left out of the mix ...
RARE_CURRENCY: Final = 0.001
#: ... unless the rare ones together hold more than this share (a long tail the mix must carry).
RARE_TOTAL: Final = 0.01


@dataclass(frozen=True, slots=True)
class Score:
    """One family fitted to a status's delays, and how far it is from them (KS statistic)."""

    delay: Delay
    ks: float


@dataclass(frozen=True, slots=True)
class FittedDelay:
    """A delay as the configuration will say it, with every family's score (best first) and why."""

    delay: Delay
    scores: tuple[Score, ...]  # empty when nothing was fitted (see ``note``)
    values: int  # how many delays were measured (the sample's ``seen``)
    note: str = ""  # why it is not a fit, when it is not one


@dataclass(frozen=True, slots=True)
class FittedStatus:
    """A status: its configured name (the data's, or made valid), and its delay."""

    name: str
    observed_as: str  # the data's name (the same unless it had to be made valid)
    delay: FittedDelay
    events: int  # events of this status in the workflows' paths


@dataclass(frozen=True, slots=True)
class FittedWorkflow:
    """An observed path kept as a workflow, with its weight (payments, corrected for missing events)."""

    name: str
    steps: tuple[str, ...]
    weight: int
    payments: int  # payments seen on exactly this path (or its orders, in parallel timing)
    #: Per status, this workflow's own delay, when it differs from the status's elsewhere.
    delays: Mapping[str, FittedDelay] = field(default_factory=dict)
    #: Per status, the two-sample KS statistic and p-value of this workflow's delays against the other workflows'.
    split_evidence: Mapping[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FittedTiming:
    """Sequential or parallel, on the share of payments whose statuses came in another order than usual."""

    timing: Timing
    reordered: float  # share of payments (of workflows with >= 3 steps) in a minority order
    threshold: float


@dataclass(frozen=True, slots=True)
class FittedArrivals:
    """When payments start."""

    rate: float  # payments/s outside incidents
    arrivals: Arrivals
    cv: float  # coefficient of variation of the gaps between starts
    gaps: int
    curve: tuple[float, ...]  # 24 hour-of-day multipliers, or () for a flat rate
    span_s: float  # the span of the starts: the run's duration
    workers: int
    lifetime_s: float  # a long-tail payment lifetime the workers are sized on


@dataclass(frozen=True, slots=True)
class FittedBanks:
    """Bank counts and popularity; ``seen`` False when the input has no banks (the defaults stay)."""

    seen: bool
    sources: int
    destinations: int
    popularity: Popularity
    zipf_s: float
    #: The fits of each side: (kind, s, p-value of uniform).
    source_fit: tuple[str, float, float] | None
    destination_fit: tuple[str, float, float] | None


@dataclass(frozen=True, slots=True)
class FittedAnomalies:
    """Dirty data rates as the configuration spells them, with the counts they come from."""

    duplicate: float  # per event
    late: float  # per event, corrected for lateness within the tolerance
    late_delay: Delay | None
    late_seen: int
    late_tolerance_ms: float  # the least lateness the profiler counted (its tolerance, at most)
    out_of_order: float  # per payment
    missing: float  # per event after the first
    missing_events: float  # estimated events never seen
    duplicates: int
    out_of_order_payments: int


@dataclass(frozen=True, slots=True)
class FittedPhase:
    """An incident as a ``[[phases]]`` table."""

    name: str
    at_s: float
    duration_s: float
    what: str  # what departed (from the change-point test)
    weights: Mapping[str, int] | None
    mix_p: float | None  # chi-squared p of the mix inside against outside
    delay_scale: Mapping[str, float] | None
    rate: float | None
    payments: int


@dataclass(frozen=True, slots=True)
class FittedAmounts:
    """Amounts as a distribution, and the currency mix; ``expressed`` when the model can say them."""

    distribution: FittedDelay  # the best family (written unless ``original_amounts``)
    #: The mix written, payments per code; empty: the original's (uniform over every code), or no currencies seen.
    currencies: Mapping[str, int]
    other_currencies: int  # payments whose currency is no three-letter code (left out of the mix)
    #: KS statistic and p-value of the amounts against the original's uniform range.
    uniform_ks: float
    uniform_p: float
    #: Consistent with the original's uniform amounts: no distribution is written (the original's).
    original_amounts: bool
    #: Chi-squared p of equal shares over every code the original draws (None: a code it never draws was seen).
    equal_shares_p: float | None
    #: Consistent with the original's currencies: ``currencies`` is empty (uniform over every code).
    original_currencies: bool
    #: Codes left out of the mix as rare (each under ``RARE_CURRENCY`` of payments), and their payments.
    rare_codes: int = 0
    rare_payments: int = 0

    @property
    def original(self) -> bool:
        """Whether the original's amounts and currencies say it all (nothing to write)."""
        return self.original_amounts and self.original_currencies


@dataclass(frozen=True, slots=True)
class Fitted:
    """Everything a fitted configuration says, with the evidence, and what it cannot say."""

    events: int
    payments: int
    first_ms: int
    last_ms: int
    sources: int  # how many sources were read
    timing: FittedTiming
    statuses: tuple[FittedStatus, ...]
    workflows: tuple[FittedWorkflow, ...]
    variants: Mapping[Path, int]  # paths explained as missing-step variants of a workflow
    arrivals: FittedArrivals
    banks: FittedBanks
    anomalies: FittedAnomalies
    phases: tuple[FittedPhase, ...]
    amounts: FittedAmounts | None
    per_workflow_delays: bool  # whether the model can express them (written into [[workflows]])
    amounts_expressed: bool
    not_expressed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the configuration may say beyond the original's settings (the model's opt-in
    extensions); a fit without one lists what it would have said as not expressed."""

    per_workflow_delays: bool = True  # [[workflows]] delays = { <Status> = { dist = ... } }
    amounts: bool = True  # [amounts] distribution and currencies


def fit(profile: Profile, able: Capabilities | None = None) -> Fitted:
    """The configuration ``profile`` calls for, with the evidence of each decision."""
    able = Capabilities() if able is None else able
    if profile.payments < 1:
        raise ValueError("no payment was seen to its end: nothing to fit")
    names = _status_names(profile.paths)
    found = _incidents(profile, _curve(profile.arrivals.per_hour, profile.last_ms - profile.first_ms))
    incidents = found[:MAX_PHASES]
    windows = tuple((i.start_ms, i.end_ms) for i in incidents)
    out_of_order_rate = profile.anomalies.out_of_order / max(1, _multi_step(profile.paths))
    timing = _timing(profile.paths, out_of_order_rate)
    paths = grouped(profile.paths)
    names = _with_firsts(names, paths)
    classified = classify(paths)
    missing = classified.missing
    outside = _outside_counts(profile, paths, windows)
    workflows = _weighted(classified.kept, outside, missing, names)
    statuses, splits = _delays(profile, paths, workflows, timing.timing, windows, names)
    workflows = tuple(
        replace(
            wf,
            delays={**_first_step(wf, names, splits.first), **splits.delays.get(wf.name, {})},
            split_evidence=splits.evidence.get(wf.name, {}),
        )
        for wf in workflows
    )
    arrivals = _arrivals(profile, windows, statuses, workflows, timing.timing)
    phases = _phases(profile, incidents, paths, workflows, names, arrivals, missing)
    arrivals = _with_workers(arrivals, phases)
    not_expressed: list[str] = []
    if any(wf.delays for wf in workflows) and not able.per_workflow_delays:
        not_expressed.append(
            "per-workflow delays: "
            + "; ".join(f"{wf.name}: {', '.join(wf.delays)}" for wf in workflows if wf.delays)
            + " (each status keeps one delay for every workflow)"
        )
    if names.first_elsewhere and not able.per_workflow_delays:
        not_expressed.append(
            "statuses first in some workflows and later in others ("
            + ", ".join(sorted(names.config[s] for s in names.first_elsewhere))
            + "): their delay also delays the payments they start"
        )
    if len(found) > MAX_PHASES:
        not_expressed.append(f"{len(found) - MAX_PHASES} incidents beyond the {MAX_PHASES} phases a run takes")
    amounts = _amounts(profile)
    if amounts is not None and not amounts.original and not able.amounts:
        not_expressed.append("amounts and the currency mix (the model draws the original's uniform range)")
    anomalies = _anomalies(profile, missing, classified.missing_events)
    if not profile.record_timestamps and anomalies.late_seen:
        not_expressed.append(
            "late events measured against the input's order, not record timestamps: the late rate is an estimate"
        )
    return Fitted(
        events=profile.events,
        payments=profile.payments,
        first_ms=profile.first_ms,
        last_ms=profile.last_ms,
        sources=len(profile.sources),
        timing=timing,
        statuses=statuses,
        workflows=workflows,
        variants=classified.variants,
        arrivals=arrivals,
        banks=_banks(profile),
        anomalies=anomalies,
        phases=phases,
        amounts=amounts,
        per_workflow_delays=able.per_workflow_delays,
        amounts_expressed=able.amounts and amounts is not None,
        not_expressed=tuple(not_expressed),
    )


# -- status names


@dataclass(frozen=True, slots=True)
class _Names:
    """The configured name of each status of the data, and the statuses that are sometimes first."""

    config: Mapping[str, str]
    first_only: frozenset[str]  # statuses never seen after the first step
    first_elsewhere: frozenset[str]  # first in some paths, later in others


def _status_names(paths: Mapping[Path, int]) -> _Names:
    observed = list(dict.fromkeys(status for path in paths for status in path))
    # The configuration keeps its default statuses beside the data's: a name that differs
    # from one only in case would share its topic (payment-<name lowered>).
    # A default status's own name stays its own.
    taken = {name.lower() for name in _DEFAULT_STATUS_NAMES}
    config: dict[str, str] = {status: status for status in observed if status in _DEFAULT_STATUS_NAMES}
    for status in observed:
        if status in config:
            continue
        name = status if _STATUS_NAME.fullmatch(status) and len(status) <= _STATUS_NAME_MAX else _valid_name(status)
        base, i = name, 2
        while name.lower() in taken:  # topics are payment-<name lowered>: they must differ
            name = f"{base[: _STATUS_NAME_MAX - 4]}_{i}"
            i += 1
        taken.add(name.lower())
        config[status] = name
    config = {status: config[status] for status in observed}  # in the order first seen
    return _Names(config, frozenset(), frozenset())


def _first_step(workflow: FittedWorkflow, names: _Names, first_delay: FittedDelay) -> dict[str, FittedDelay]:
    """A status that is first here and later elsewhere: the first step's delay here (its own in this workflow)."""
    first = workflow.steps[0]
    if first not in {names.config[s] for s in names.first_elsewhere}:
        return {}
    return {first: first_delay}


def _with_firsts(names: _Names, groups: Sequence[Group]) -> _Names:
    """``names`` with the statuses only ever first, and those first somewhere and later elsewhere,
    in the workflows' own orders."""
    first = {g.steps[0] for g in groups}
    later = {status for g in groups for status in g.steps[1:]}
    return _Names(names.config, frozenset(first - later), frozenset(first & later))


def _valid_name(status: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", status)[:_STATUS_NAME_MAX]
    return cleaned if _STATUS_NAME.fullmatch(cleaned) else "Status"


# -- timing and workflows


def _multi_step(paths: Mapping[Path, int]) -> int:
    return sum(n for path, n in paths.items() if len(path) >= 2)


def _timing(paths: Mapping[Path, int], out_of_order_rate: float) -> FittedTiming:
    """Parallel when a workflow's statuses come in varying orders beyond what anomalies explain.

    Paths with the same statuses are one workflow in varying orders; in sequential timing
    each has one order, but for the few an anomaly reorders.
    """
    groups: dict[frozenset[str], Counter[Path]] = {}
    for path, n in paths.items():
        if len(path) >= 2:
            groups.setdefault(frozenset(path), Counter())[path] += n
    total = sum(sum(g.values()) for g in groups.values())
    minority = sum(sum(g.values()) - max(g.values()) for g in groups.values())
    reordered = minority / total if total else 0.0
    threshold = max(_REORDERED, 3 * out_of_order_rate)
    significant = minority > SIGMAS * math.sqrt(max(1.0, threshold * total)) + threshold * total
    return FittedTiming("parallel" if reordered > threshold and significant else "sequential", reordered, threshold)


def _outside_counts(profile: Profile, groups: Sequence[Group], windows: Sequence[tuple[int, int]]) -> dict[Path, int]:
    """Payments per group's steps that started outside every incident."""
    inside: Counter[Path] = Counter()
    for index, bin_ in profile.bins.items():
        if _in_windows(index * profile.bin_ms, profile.bin_ms, windows):
            for path, n in bin_.paths.items():
                inside[path] += n
    counts: dict[Path, int] = {}
    for group in groups:
        counts[group.steps] = sum(max(0, n - inside[path]) for path, n in group.orders.items())
    return counts


def _in_windows(start_ms: int, width_ms: int, windows: Sequence[tuple[int, int]]) -> bool:
    """Whether the bin [start, start + width) lies mostly inside one of ``windows``."""
    middle = start_ms + width_ms / 2
    return any(a <= middle < b for a, b in windows)


def _weighted(
    kept: Sequence[tuple[Group, float]], outside: Mapping[Path, int], missing: float, names: _Names
) -> tuple[FittedWorkflow, ...]:
    """Each workflow's weight: its payments outside incidents, less the variants of other
    workflows its path holds, divided by the share of its payments that lost no event."""
    raw: list[float] = []
    for group, share in kept:
        n = outside.get(group.steps, group.payments)
        held = share * (n / group.payments) if group.payments else 0.0
        survived = (1 - missing) ** (len(group.steps) - 1)
        raw.append(max(0.0, n - held) / survived if survived > 0 else float(n))
    scale = min(1.0, _WEIGHT_MAX / max(raw)) if raw and max(raw) > 0 else 1.0
    workflows: list[FittedWorkflow] = []
    for (group, _), weight in zip(kept, raw):
        steps = tuple(names.config[s] for s in group.steps)
        workflows.append(FittedWorkflow(">".join(steps), steps, max(1, round(weight * scale)), group.payments))
    return tuple(workflows)


# -- delays


def _pooled(samples: Iterable[Sample], windows: Sequence[tuple[int, int]]) -> tuple[list[float], int]:
    """The values of several reservoirs as one sample of their union, and how many were seen.

    Each reservoir holds ``len(values)`` of its ``seen`` values; the union takes from each
    the same share of what it saw (the smallest share any of them holds), so a reservoir of a
    rare path does not weigh as much as one of a frequent path. Values of payments that
    started in an incident's window are left out.
    """
    kept = [s for s in samples if s.values]
    if not kept:
        return [], sum(s.seen for s in samples)
    share = min(len(s.values) / s.seen for s in kept if s.seen) if any(s.seen for s in kept) else 1.0
    rng = random.Random(0)
    pooled: list[float] = []
    for sample in kept:
        take = max(1, round(sample.seen * share)) if sample.seen else len(sample.values)
        indexes = list(range(len(sample.values)))
        if take < len(indexes):
            indexes = sorted(rng.sample(indexes, take))
        pooled.extend(
            sample.values[i] for i in indexes if not windows or not _in_windows(sample.starts_ms[i], 0, windows)
        )
    return pooled, sum(s.seen for s in samples)


def fit_delay(values: Sequence[float], seen: int) -> FittedDelay:
    """The family with the least KS statistic, with every family's score, as the configuration takes it."""
    if not values:
        return FittedDelay(Delay("fixed", (0.0,)), (), seen, "no delay measured: fixed 0")
    fits = families.fit_families(values, resolution=1.0)
    scores = tuple(Score(valid_delay(f.delay), f.ks) for f in fits)
    return FittedDelay(scores[0].delay, scores, seen)


def valid_delay(delay: Delay, high: float = _MAX_MS, digits: int = 6) -> Delay:
    """``delay`` rounded to ``digits`` significant digits within what the configuration accepts
    (parameters from 0 to ``high``)."""

    def ms(x: float) -> float:
        return _sig(min(max(x, 0.0), high), digits)

    p = [ms(x) for x in delay.params]
    if delay.dist == "uniform":
        return Delay("uniform", (min(p), max(p)))
    if delay.dist == "exponential":
        return Delay("exponential", (max(p[0], 0.001),)) if p[0] > 0 else Delay("fixed", (0.0,))
    if delay.dist == "lognormal":
        median = max(p[0], 0.001)
        p99 = p[1] if p[1] > median else _sig(median * 1.01 + 0.01, digits)
        if p99 > high or p99 <= median:
            return Delay("fixed", (ms(median),))
        return Delay("lognormal", (median, p99))
    if delay.dist == "normal":
        return Delay("normal", (p[0], p[1])) if p[1] > 0 else Delay("fixed", (p[0],))
    return Delay("fixed", (p[0],))


def _sig(x: float, digits: int = 6) -> float:
    return float(f"{x:.{digits}g}")


def _delays(
    profile: Profile,
    groups: Sequence[Group],
    workflows: Sequence[FittedWorkflow],
    timing: Timing,
    windows: Sequence[tuple[int, int]],
    names: _Names,
) -> tuple[tuple[FittedStatus, ...], _Splits]:
    """Per status, its delay fitted over every workflow; per workflow, the delays that differ;
    and the first step's delay."""
    by_steps = {tuple(names.config[s] for s in g.steps): g for g in groups}
    # Per status: per workflow name, the samples of that status's delays.
    samples: dict[str, dict[str, list[Sample]]] = {}
    events: Counter[str] = Counter()
    for wf in workflows:
        group = by_steps[wf.steps]
        # Sequential: a gap is measured from the status before, in the workflow's own order only.
        for path in group.orders if timing == "parallel" else (group.steps,):
            measured = (
                _since_first(profile.offsets, path, group.steps[0])
                if timing == "parallel"
                else {k: profile.gaps.get((path, k)) for k in range(1, len(path))}
            )
            for k, sample in measured.items():
                status = names.config[path[k]]
                events[status] += group.orders[path]
                if sample is not None:
                    samples.setdefault(status, {}).setdefault(wf.name, []).append(sample)
    first = FittedDelay(Delay("fixed", (0.0,)), (), 0, _FIRST_NOTE)
    if timing == "parallel":
        lead = _lead(samples, windows)
        samples = {
            status: {wf: [_shifted(s, lead) for s in group] for wf, group in by_workflow.items()}
            for status, by_workflow in samples.items()
        }
        first = FittedDelay(Delay("fixed", (lead,)), (), 0, _FIRST_NOTE_PARALLEL.format(lead=lead))
    statuses: list[FittedStatus] = []
    splits = _Splits({}, {}, first)
    for observed, name in names.config.items():
        if observed in names.first_only:
            statuses.append(FittedStatus(name, observed, first, 0))
            continue
        by_workflow = samples.get(name, {})
        values, seen = _pooled([s for group in by_workflow.values() for s in group], windows)
        fitted = fit_delay(values, seen)
        statuses.append(FittedStatus(name, observed, fitted, events[name]))
        for wf_name, delay, evidence in _splits(name, by_workflow, windows):
            if delay is not None:
                splits.delays.setdefault(wf_name, {})[name] = delay
            splits.evidence.setdefault(wf_name, {})[name] = evidence
    return tuple(statuses), splits


def _since_first(offsets: Mapping[tuple[Path, int], Sample], path: Path, first: str) -> dict[int, Sample | None]:
    """Per step of ``path`` but ``first``'s, its times since ``first``'s event, payment by payment.

    The profiler's offsets count from a payment's first event *emitted*, which in parallel
    timing is not always the workflow's first step (a quick Failed may come before a fixed
    Initiated): measured from it, a delay would take another status's for its origin. The
    profiler keeps whole payments per path (one reservoir of rows, ``Rows``), so for one path
    ``offsets[(path, k)].values[i]`` of every ``k`` come from the same payment ``i``: their
    difference is that payment's time between the two steps, negative when step ``k`` came
    first. Samples that are not aligned (not the profiler's) are left out.
    """
    j = path.index(first)
    base = offsets.get((path, j)) if j else None
    since: dict[int, Sample | None] = {}
    for k in range(len(path)):
        if k == j:
            continue
        if j == 0:
            since[k] = offsets.get((path, k))
        elif base is None:
            since[k] = None
        elif k == 0:  # the first emitted: offset 0
            since[k] = Sample(base.seen, tuple(-v for v in base.values), base.starts_ms)
        else:
            own = offsets.get((path, k))
            aligned = own is not None and len(own.values) == len(base.values)
            since[k] = (
                Sample(own.seen, tuple(map(sub, own.values, base.values)), own.starts_ms)
                if own is not None and aligned
                else None
            )
    return since


def _lead(samples: Mapping[str, Mapping[str, Sequence[Sample]]], windows: Sequence[tuple[int, int]]) -> float:
    """The first step's delay in parallel timing: how long before it the earliest status can come (ms, >= 0).

    Every delay counts from the payment's start, which no event marks; measured from the
    workflow's first step, a status that can come before it has negative times. The first
    step takes a fixed delay that lifts the lowest status's least time to 0, and every other
    status's delay is its time since the first step plus that. The least time is estimated
    from the low quantiles, not the minimum (one mistimed payment must not shift every
    delay): the quantile function extrapolated from ``q`` and ``2q`` to 0, ``2 x(q) - x(2q)``,
    which is the end of the support when the density is about flat there (a quick
    exponential Failed before a fixed Initiated: the 0.1% quantile alone falls 3 ms short).
    """
    lows = [0.0]
    for by_workflow in samples.values():
        values, _ = _pooled([s for group in by_workflow.values() for s in group], windows)
        if values:
            values.sort()
            last = len(values) - 1
            low, twice = values[int(_LEAD_QUANTILE * last)], values[int(2 * _LEAD_QUANTILE * last)]
            lows.append(2 * low - twice)
    return min(_MAX_MS, float(math.ceil(max(0.0, -min(lows)))))


def _shifted(sample: Sample, by: float) -> Sample:
    """``sample`` moved by ``by`` ms; the few below the lead's quantile at 0 (a delay is never negative)."""
    return Sample(sample.seen, tuple(max(0.0, v + by) for v in sample.values), sample.starts_ms) if by else sample


@dataclass(frozen=True, slots=True)
class _Splits:
    """Per workflow name, per status: its own delay where it differs, and the two-sample KS and p of each."""

    delays: dict[str, dict[str, FittedDelay]]
    evidence: dict[str, dict[str, tuple[float, float]]]
    first: FittedDelay  # the first step's delay (fixed)


def _splits(
    status: str, by_workflow: Mapping[str, list[Sample]], windows: Sequence[tuple[int, int]]
) -> list[tuple[str, FittedDelay | None, tuple[float, float]]]:
    """The workflows whose delays of ``status`` differ from the others' (two-sample KS, large and significant)."""
    if len(by_workflow) < 2:
        return []
    values = {name: _pooled(samples, windows) for name, samples in by_workflow.items()}
    found: list[tuple[str, FittedDelay | None, tuple[float, float]]] = []
    for name, (mine, seen) in sorted(values.items()):
        if len(mine) < _MIN_SPLIT_VALUES:
            continue
        rest = [v for other, (vals, _) in sorted(values.items()) if other != name for v in vals]
        if len(rest) < _MIN_SPLIT_VALUES:
            continue
        d = goodness.ks_two_sample(mine, rest)
        p = goodness.ks_p_value(d, len(mine), len(rest))
        if d >= _KS_SPLIT and p < _ALPHA:
            found.append((name, fit_delay(mine, seen), (d, p)))
        else:
            found.append((name, None, (d, p)))
    if not any(delay for _, delay, _ in found):
        return []
    return found


# -- arrivals


def _incidents(profile: Profile, curve: Sequence[float]) -> tuple[changepoints.Incident, ...]:
    """The change points' incidents, in time order; a fitted arrival curve is the rate expected, not an incident."""
    if not profile.bins:
        return ()
    # An hour the curve gives (about) nothing may still hold a payment: no weight is 0.
    weights = {i: max(curve[(i * profile.bin_ms // 3_600_000) % 24], 1e-4) for i in profile.bins} if curve else None
    found = changepoints.find_incidents(profile.bins, profile.bin_ms, _MIN_INCIDENT_MS, weights)
    return tuple(sorted(found, key=lambda i: i.start_ms))


def _arrivals(
    profile: Profile,
    windows: Sequence[tuple[int, int]],
    statuses: Sequence[FittedStatus],
    workflows: Sequence[FittedWorkflow],
    timing: Timing,
) -> FittedArrivals:
    arrivals = profile.arrivals
    curve = _curve(arrivals.per_hour, profile.last_ms - profile.first_ms)
    # The gaps between consecutive starts add up to the span of the starts (their mean is
    # only the poisson/constant decision's: the count over the span is the rate).
    start_span_ms = arrivals.gaps * arrivals.gap_mean_ms
    rate = _rate(profile, windows, curve, start_span_ms)
    cv = math.sqrt(arrivals.gap_variance_ms2) / arrivals.gap_mean_ms if arrivals.gap_mean_ms > 0 else 1.0
    lifetime_s = _lifetime_s(statuses, workflows, timing)
    # Payments start over the span of the starts (one gap more: the last start's own); the
    # last events come a lifetime later, as they did in the data.
    starts_ms = start_span_ms + arrivals.gap_mean_ms if arrivals.gaps else profile.last_ms - profile.first_ms
    span_s = min(_MAX_DURATION_S, max(1.0, math.ceil(starts_ms / 1000)))
    return FittedArrivals(
        rate=_clamp(_sig(rate), _RATE_MIN, _RATE_MAX),
        arrivals="constant" if cv < _CV_CONSTANT else "poisson",
        cv=cv,
        gaps=arrivals.gaps,
        curve=curve,
        span_s=span_s,
        workers=_WORKERS_MIN,
        lifetime_s=lifetime_s,
    )


def _rate(profile: Profile, windows: Sequence[tuple[int, int]], curve: Sequence[float], span_ms: float) -> float:
    """Payments/s outside incidents, as the run's ``rate``: the one the arrival curve multiplies.

    The payments started outside every incident's window, over the time outside them
    weighted by the curve (hours the curve makes busy count for more): rate x curve then
    starts as many payments in every hour as the data did. Left out of plain time, windows
    over quiet hours would leave busy hours' counts over less than their share of the curve.
    """
    start = profile.first_ms
    end = start + span_ms if span_ms > 0 else float(profile.last_ms)
    # Payments still open at the end (cut by it) started too, in its last moments.
    started = profile.open_at_end + sum(
        sum(bin_.paths.values())
        for index, bin_ in profile.bins.items()
        if not _in_windows(index * profile.bin_ms, profile.bin_ms, windows)
    )
    weighted_ms = sum((b - a) * _curve_mean(curve, round(a), round(b)) for a, b in _outside(start, end, windows))
    if weighted_ms <= 0 or started <= 0:
        return profile.payments * 1000 / max(1, profile.last_ms - profile.first_ms)
    # The starts' span ends at the last start: one mean gap more is the last start's own.
    return started * 1000 / (weighted_ms * (1 + 1 / started))


def _outside(start: float, end: float, windows: Sequence[tuple[int, int]]) -> list[tuple[float, float]]:
    """[start, end) less ``windows``, as the stretches left."""
    stretches: list[tuple[float, float]] = []
    at = start
    for a, b in sorted(windows):
        if a > at:
            stretches.append((at, min(a, end)))
        at = max(at, b)
        if at >= end:
            break
    if at < end:
        stretches.append((at, end))
    return [(a, b) for a, b in stretches if b > a]


def _clamp(x: float, low: float, high: float) -> float:
    return min(max(x, low), high)


def _curve(per_hour: Mapping[int, int], span_ms: int) -> tuple[float, ...]:
    """24 hour-of-day multipliers (mean 1) when the data spans about a day, else ()."""
    if span_ms < _CURVE_HOURS * 3_600_000 or not per_hour:
        return ()
    hours = sorted(per_hour)
    # The first and last hours are partly covered: left out when the others cover all 24.
    whole = hours[1:-1] if len({h % 24 for h in hours[1:-1]}) == 24 else hours
    by_hour: dict[int, list[int]] = {}
    for hour in whole:
        by_hour.setdefault(hour % 24, []).append(per_hour[hour])
    means = [sum(by_hour[h]) / len(by_hour[h]) if h in by_hour else None for h in range(24)]
    known = [m for m in means if m is not None]
    overall = sum(known) / len(known)
    if overall <= 0:
        return ()
    return tuple(_sig(round((m if m is not None else overall) / overall, 4)) for m in means)


def _lifetime_s(statuses: Sequence[FittedStatus], workflows: Sequence[FittedWorkflow], timing: Timing) -> float:
    """A long-tail payment lifetime: the 99.9th percentiles of the longest workflow's delays."""
    tail = {s.name: s.delay.delay.quantile(0.999) for s in statuses}
    longest = 0.0
    for wf in workflows:
        steps = [wf.delays[s].delay.quantile(0.999) if s in wf.delays else tail.get(s, 0.0) for s in wf.steps]
        longest = max(longest, sum(steps) if timing == "sequential" else max(steps, default=0.0))
    return longest / 1000


def _with_workers(arrivals: FittedArrivals, phases: Sequence[FittedPhase]) -> FittedArrivals:
    peak = arrivals.rate * max(arrivals.curve, default=1.0)
    peak = max([peak, *(p.rate for p in phases if p.rate is not None)])
    scale = max([1.0, *(max(p.delay_scale.values(), default=1.0) for p in phases if p.delay_scale)])
    workers = math.ceil(peak * max(arrivals.lifetime_s * scale, 1.0) * _WORKER_MARGIN)
    return FittedArrivals(
        arrivals.rate,
        arrivals.arrivals,
        arrivals.cv,
        arrivals.gaps,
        arrivals.curve,
        arrivals.span_s,
        int(_clamp(workers, _WORKERS_MIN, _WORKERS_MAX)),
        arrivals.lifetime_s,
    )


# -- phases


def _phases(
    profile: Profile,
    incidents: Sequence[changepoints.Incident],
    groups: Sequence[Group],
    workflows: Sequence[FittedWorkflow],
    names: _Names,
    arrivals: FittedArrivals,
    missing: float,
) -> tuple[FittedPhase, ...]:
    """Each incident as a phase: what the change-point test found departing, measured inside
    against the bins outside every incident."""
    windows = [(i.start_ms, i.end_ms) for i in incidents]
    outside = [b for i, b in profile.bins.items() if not _in_windows(i * profile.bin_ms, profile.bin_ms, windows)]
    by_config = {f"delay:{observed}": name for observed, name in names.config.items()}
    phases: list[FittedPhase] = []
    for incident in incidents:
        start = max(incident.start_ms, profile.first_ms)
        end = min(incident.end_ms, profile.last_ms)
        if end <= start:
            continue
        inside = [b for i, b in profile.bins.items() if _in_windows(i * profile.bin_ms, profile.bin_ms, [(start, end)])]
        what = set(incident.what)
        weights, mix_p = _phase_weights(inside, outside, groups, workflows, names, missing)
        scales = _delay_scales(inside, outside, names)
        delayed = {by_config[w] for w in what if w in by_config}
        payments = sum(sum(b.paths.values()) for b in inside)
        duration_s = (end - start) / 1000
        # The arrival curve goes on multiplying a phase's rate: the rate is the one it multiplies.
        curve = _curve_mean(arrivals.curve, start, end)
        rate = payments / duration_s / curve
        if what == {"rate"} and 1 / _RATE_DEPARTS <= rate / arrivals.rate <= _RATE_DEPARTS:
            continue
        phases.append(
            FittedPhase(
                name=f"incident {len(phases) + 1}",
                at_s=_sig((start - profile.first_ms) / 1000),
                duration_s=max(0.001, _sig(duration_s)),
                what=_departed(what, by_config),
                weights=weights if "mix" in what else None,
                mix_p=mix_p,
                delay_scale={k: v for k, v in (scales or {}).items() if k in delayed} or None,
                rate=_clamp(_sig(rate), 0.0, _RATE_MAX) if "rate" in what else None,
                payments=payments,
            )
        )
    return tuple(phases)


def _departed(what: set[str], by_config: Mapping[str, str]) -> str:
    """What departed, in words that name only configured statuses (nothing else of the data)."""
    words = [w for w in ("mix", "rate") if w in what]
    return ", ".join(words + sorted(f"delay of {by_config[w]}" for w in what if w in by_config))


def _curve_mean(curve: Sequence[float], start_ms: int, end_ms: int) -> float:
    """The arrival curve's mean multiplier over [start, end) (1 without a curve)."""
    if not curve:
        return 1.0
    hours = range(start_ms // 3_600_000, (end_ms - 1) // 3_600_000 + 1)
    weights = [min(end_ms, (h + 1) * 3_600_000) - max(start_ms, h * 3_600_000) for h in hours]
    mean = sum(curve[h % 24] * w for h, w in zip(hours, weights)) / sum(weights)
    return mean if mean > 0 else 1.0


def _phase_weights(
    inside: Sequence[Bin],
    outside: Sequence[Bin],
    groups: Sequence[Group],
    workflows: Sequence[FittedWorkflow],
    names: _Names,
    missing: float,
) -> tuple[Mapping[str, int] | None, float | None]:
    by_steps = {tuple(names.config[s] for s in g.steps): g for g in groups}
    counts_in: list[int] = []
    counts_out: list[int] = []
    for wf in workflows:
        orders = by_steps[wf.steps].orders
        counts_in.append(sum(b.paths.get(p, 0) for b in inside for p in orders))
        counts_out.append(sum(b.paths.get(p, 0) for b in outside for p in orders))
    if sum(counts_in) == 0 or sum(counts_out) == 0 or len(workflows) < 2:
        return None, None
    _, _, p = goodness.chi_squared_homogeneity(dict(enumerate(counts_in)), dict(enumerate(counts_out)))
    raw = [n / (1 - missing) ** (len(wf.steps) - 1) if missing < 1 else float(n) for n, wf in zip(counts_in, workflows)]
    total_weight = sum(wf.weight for wf in workflows)
    total = sum(raw)
    weights = {wf.name: min(_WEIGHT_MAX, round(r / total * total_weight)) for wf, r in zip(workflows, raw)}
    if not any(weights.values()):
        best = max(range(len(raw)), key=raw.__getitem__)
        weights[workflows[best].name] = 1
    return weights, p


def _delay_scales(inside: Sequence[Bin], outside: Sequence[Bin], names: _Names) -> Mapping[str, float] | None:
    """Per status, the ratio of the delays' geometric means inside and outside: the ratio of
    medians for a stretched distribution (a phase's delay_scale stretches)."""
    scales: dict[str, float] = {}
    for observed, name in names.config.items():
        a = _log_moments(b.delays.get(observed) for b in inside)
        b = _log_moments(b.delays.get(observed) for b in outside)
        if a is not None and b is not None:
            scales[name] = _clamp(_sig(round(math.exp(a[1] - b[1]), 3)), 0.001, _SCALE_MAX)
    return scales or None


def _log_moments(parts: Iterable[tuple[int, float, float] | None]) -> tuple[int, float, float] | None:
    n, s, sq = 0, 0.0, 0.0
    for part in parts:
        if part is not None:
            n, s, sq = n + part[0], s + part[1], sq + part[2]
    if n < 2:
        return None
    mean = s / n
    return n, mean, max(0.0, (sq - n * mean * mean) / (n - 1))


# -- banks, anomalies, amounts


def _banks(profile: Profile) -> FittedBanks:
    if not profile.sources_seen or not profile.destinations_seen:
        return FittedBanks(False, 10, 10, "uniform", 1.1, None, None)
    source = zipf.fit_popularity(sorted(profile.sources_seen.values(), reverse=True))
    destination = zipf.fit_popularity(sorted(profile.destinations_seen.values(), reverse=True))
    zipfs = [fit.s for fit in (source, destination) if fit.kind == "zipf"]
    s = _clamp(_sig(round(sum(zipfs) / len(zipfs), 3)), 0.01, 9.99) if zipfs else 1.1
    return FittedBanks(
        True,
        min(100_000, len(profile.sources_seen)),
        min(100_000, len(profile.destinations_seen)),
        "zipf" if zipfs else "uniform",
        s,
        (source.kind, source.s, source.p_uniform),
        (destination.kind, destination.s, destination.p_uniform),
    )


def _anomalies(profile: Profile, missing: float, missing_events: float) -> FittedAnomalies:
    seen = profile.anomalies
    originals = max(1, seen.events - seen.duplicates)
    late_delay: Delay | None = None
    late = 0.0
    tolerance = 0.0
    if seen.late.seen and seen.late.values:
        # Lateness below the tolerance is not counted: exponential lateness is memoryless, so
        # its excess over the tolerance has the same mean, and a share exp(-t/mean) exceeds it.
        tolerance = min(seen.late.values)
        excess = sum(seen.late.values) / len(seen.late.values) - tolerance
        mean = max(1.0, excess)
        late_delay = valid_delay(Delay("exponential", (mean,)))
        late = min(1.0, seen.late.seen / originals * math.exp(min(tolerance / mean, 50.0)))
    payments = max(1, _multi_step(profile.paths))
    return FittedAnomalies(
        duplicate=_prob(seen.duplicates / originals),
        late=_prob(late),
        late_delay=late_delay,
        late_seen=seen.late.seen,
        late_tolerance_ms=tolerance,
        out_of_order=_prob(seen.out_of_order / payments),
        missing=_prob(missing),
        missing_events=missing_events,
        duplicates=seen.duplicates,
        out_of_order_payments=seen.out_of_order,
    )


def _prob(x: float) -> float:
    """A probability as the configuration takes it, to 4 significant digits; 0 stays 0."""
    return _clamp(float(f"{x:.4g}"), 0.0, 1.0)


def _amounts(profile: Profile) -> FittedAmounts | None:
    if profile.amounts is None or not profile.amounts.values:
        return None
    values = profile.amounts.values
    # To 3 significant digits: a parameter (a uniform's ends) must not be one payment's amount.
    fits = families.fit_families(values, resolution=_CENT)
    scores = tuple(Score(valid_delay(f.delay, _AMOUNT_MAX, 3), f.ks) for f in fits)
    distribution = FittedDelay(scores[0].delay, scores, profile.amounts.seen)
    low, high = UNIFORM_AMOUNTS
    d = _ks_uniform(values, low, high)
    p = goodness.ks_p_value(d, len(values))
    codes = {code: n for code, n in profile.currencies.items() if _CURRENCY.fullmatch(code)}
    other = sum(n for code, n in profile.currencies.items() if not _CURRENCY.fullmatch(code))
    equal_p = _equal_shares_p(codes)
    original_currencies = equal_p is not None and equal_p >= _ALPHA
    mix, rare_codes, rare_payments = ({}, 0, 0) if original_currencies else _mix(codes)
    return FittedAmounts(
        distribution,
        mix,
        other,
        uniform_ks=d,
        uniform_p=p,
        original_amounts=p >= _ALPHA,
        equal_shares_p=equal_p,
        original_currencies=original_currencies,
        rare_codes=rare_codes,
        rare_payments=rare_payments,
    )


def _ks_uniform(values: Sequence[float], low: float, high: float) -> float:
    """The one-sample KS statistic of ``values`` against uniform on [low, high]."""
    ordered = sorted(values)
    n = len(ordered)
    worst = 0.0
    for i, x in enumerate(ordered):
        cdf = _clamp((x - low) / (high - low), 0.0, 1.0)
        worst = max(worst, (i + 1) / n - cdf, cdf - i / n)
    return worst


def _equal_shares_p(codes: Mapping[str, int]) -> float | None:
    """Chi-squared p of ``codes``' payments drawn equally over every code the original draws
    (those not seen count 0: "equal shares" and "nearly every code seen" in one test); None
    when a code the original never draws was seen, or none was."""
    if not codes or not set(codes) <= _ORIGINAL_CODES:
        return None
    _, p = goodness.chi_squared_p([codes.get(code, 0) for code in CURRENCIES], [1] * len(CURRENCIES))
    return p


def _mix(codes: Mapping[str, int]) -> tuple[dict[str, int], int, int]:
    """The mix written (by code), and the codes and payments left out as rare.

    A code under ``RARE_CURRENCY`` of the payments is left out (the mix is of the rest), so
    a long tail of one-off codes does not make a table of hundreds; unless the rare codes
    together hold more than ``RARE_TOTAL``: then the tail is part of the mix, and every code
    stays. Codes and counts are no one's data; leaving them out is for the reader.
    """
    total = sum(codes.values())
    rare = {code: n for code, n in codes.items() if n < RARE_CURRENCY * total}
    if not rare or sum(rare.values()) > RARE_TOTAL * total:
        return dict(sorted(codes.items())), 0, 0
    return {code: n for code, n in sorted(codes.items()) if code not in rare}, len(rare), sum(rare.values())
