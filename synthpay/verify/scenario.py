"""verify's checks for a run with phases or drawn delays: exact offsets no longer apply.

Per payment: a configured workflow in order, each observable delay inside its
distribution's support (scaled by the payment's phase; the workflow's own where it has one),
the workflow allowed in that phase. Over the run: each status's delays against its
distribution (Kolmogorov-Smirnov; a workflow's own delays apart, against theirs), each
phase's workflow mix (chi-squared) and count of starts (Poisson).

Under sequential timing a status's delay is the gap since the status before it; the first
status's delay counts from a start no record shows, so it is not checked. Under parallel
timing no delay is observable from the records alone: only workflows and phases are.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from synthpay.model.delays import Delay, fixed
from synthpay.model.goodness import chi_squared_p, ks_statistic
from synthpay.summary.document import Summary
from synthpay.verify import workflows
from synthpay.verify.checks import Check, Offenders

#: Checks fail beyond these: rare enough by chance that a correct run passes.
_KS_CRITICAL = 1.95  # times 1/sqrt(n): the 0.1% point of the Kolmogorov-Smirnov statistic
_P_FLOOR = 0.001  # chi-squared p-value
_POISSON_SIGMAS = 4.0


@dataclass(frozen=True, slots=True)
class PhasePlan:
    """One phase (or "" outside every phase) as verify checks it."""

    name: str
    weights: tuple[int, ...]  # per workflow, in plan order
    delays: tuple[tuple[Delay, ...], ...]  # per workflow, per status, scaled, in plan order
    expected_starts: float | None  # from the summary's target rate; None when not known


@dataclass(frozen=True, slots=True)
class ScenarioPlan:
    """What verify knows of a run's phases and distributions."""

    sequential: bool
    workflows: tuple[tuple[int, ...], ...]  # status indices, in workflow order
    names: tuple[str, ...]
    phases: tuple[PhasePlan, ...]  # index 0 is outside every phase
    # Per workflow, the status indices whose delay is the workflow's own.
    own: tuple[frozenset[int], ...] = ()

    def phase_index(self, header: bytes | str | None) -> int | None:
        """The phase a record's ``phase`` header names (None when it names none)."""
        name = header.decode(errors="replace") if isinstance(header, bytes) else (header or "")
        return next((i for i, p in enumerate(self.phases) if p.name == name), None)


def scenario_plan(summary: Summary, statuses: Sequence[str]) -> ScenarioPlan | None:
    """The scenario part of a summary, or None for a run without phases or drawn delays."""
    plan = summary.plan
    if not plan.delays and not plan.phases and not plan.workflow_delays:
        return None
    index = {name: i for i, name in enumerate(statuses)}
    status_delays = [plan.delays.get(s) or fixed(plan.statuses[s].delay_ms) for s in statuses]
    own_delays = plan.workflow_delays or tuple({} for _ in plan.workflows)
    base = [tuple(own.get(s) or d for s, d in zip(statuses, status_delays)) for own in own_delays]
    workflows = tuple(tuple(index[s] for s in wf.steps) for wf in plan.workflows)
    names = plan.workflow_names
    weights = plan.workflow_weights
    rows = {row.name: row for row in summary.phases}

    def expected(name: str) -> float | None:
        # A phase whose arrivals waited for workers started what they allowed: the summary's count.
        row = rows.get(name)
        if row is None:
            return None
        return float(row.started) if row.backlogged else row.target_rate * row.seconds

    phases = [PhasePlan("", weights, tuple(base), expected(""))]
    for phase in plan.phases:
        overrides, scale = phase.weights or {}, phase.delay_scale or {}
        phases.append(
            PhasePlan(
                phase.name,
                tuple(overrides.get(name, w) for name, w in zip(names, weights)),
                tuple(tuple(d.scaled(scale.get(s, 1.0)) for s, d in zip(statuses, own)) for own in base),
                expected(phase.name),
            )
        )
    own = tuple(frozenset(index[s] for s in delays) for delays in own_delays)
    return ScenarioPlan(plan.timing == "sequential", workflows, names, tuple(phases), own)


@dataclass(slots=True)
class ScenarioTally:
    """Per phase: complete payments by workflow, payments seen; per (phase, status): delays."""

    mix: defaultdict[int, Counter[int]]
    starts: Counter[int]
    # Per (phase, status, workflow whose own delay it is, else -1): delays.
    delays: defaultdict[tuple[int, int, int], Counter[int]]
    outside: Offenders  # delays outside their distribution's support
    forbidden: Offenders  # workflows with weight 0 in their phase
    disorder: Offenders  # payments that are no configured workflow in order

    @classmethod
    def empty(cls) -> ScenarioTally:
        return cls(defaultdict(Counter), Counter(), defaultdict(Counter), Offenders(), Offenders(), Offenders())


def classify(plan: ScenarioPlan, tally: ScenarioTally, pid: str, phase: int, seen: Mapping[int, int]) -> str:
    """'complete', 'cut' or 'broken' for one payment (``seen``: status index -> ts), tallied.

    Under sequential timing the timestamps fit a workflow when they follow its order.
    """
    tally.starts[phase] += 1

    def fits(index: int) -> bool:
        times = [seen[s] for s in plan.workflows[index][: len(seen)]]
        return not plan.sequential or times == sorted(times)

    match = workflows.classify(plan.workflows, seen, fits)
    if match is None or not match.fits:
        tally.disorder.add(f"{pid} is no configured workflow in order")
        return "broken"
    index, prefix = match.workflow, plan.workflows[match.workflow][: len(seen)]
    if not plan.phases[phase].weights[index]:
        tally.forbidden.add(f"{pid} {plan.names[index]} in phase {plan.phases[phase].name!r}")
    if plan.sequential:
        delays = plan.phases[phase].delays
        candidates = [index] if match.complete else _candidates(plan, len(seen), set(seen))
        for before, after in itertools.pairwise(prefix):
            if len({delays[i][after] for i in candidates}) > 1:
                continue  # a payment cut short of workflows that differ here: whose delay is unknown
            gap = seen[after] - seen[before]
            low, high = delays[index][after].support()
            if not low <= gap <= high:
                tally.outside.add(f"{pid} {gap} ms before status #{after}")
            owner = index if plan.own and after in plan.own[index] else -1
            tally.delays[phase, after, owner][gap] += 1
    if match.complete:
        tally.mix[phase][index] += 1
        return "complete"
    return "cut"


def _candidates(plan: ScenarioPlan, length: int, seen: set[int]) -> list[int]:
    """The workflows a payment cut short after ``length`` statuses (``seen``) may be."""
    return [i for i, statuses in enumerate(plan.workflows) if set(statuses[:length]) == seen]


def _taking(plan: ScenarioPlan, status: int, owner: int) -> int:
    """A workflow whose delay of ``status`` is the one tallied: ``owner``, or any that takes the status's own."""
    if owner >= 0:
        return owner
    return next(
        i for i, steps in enumerate(plan.workflows) if status in steps and not (plan.own and status in plan.own[i])
    )


def run_checks(plan: ScenarioPlan, tally: ScenarioTally, statuses: Sequence[str]) -> list[Check]:
    """The checks over the run."""
    checks = [
        Check(
            "phase workflows",
            not tally.forbidden.count,
            f"{tally.forbidden.count} payments follow a workflow their phase gives weight 0",
            tuple(tally.forbidden.shown),
        ),
        Check(
            "delay support",
            not tally.outside.count,
            f"{tally.outside.count} delays outside their distribution's support",
            tuple(tally.outside.shown),
        ),
    ]
    worst: list[str] = []
    failed = []
    for (phase, status, owner), histogram in sorted(tally.delays.items()):
        delay = plan.phases[phase].delays[_taking(plan, status, owner)][status]
        n = sum(histogram.values())
        if delay.fixed or n < 20:
            continue
        statistic = ks_statistic(delay, histogram)
        own = f" in {plan.names[owner]}" if owner >= 0 else ""
        where = f"{statuses[status]}{own}{'@' + plan.phases[phase].name if phase else ''}"
        worst.append(f"{where} D={statistic:.4f} (n={n})")
        if statistic > _KS_CRITICAL / math.sqrt(n):
            failed.append(f"{where} D={statistic:.4f} > {_KS_CRITICAL / math.sqrt(n):.4f}")
    checks.append(
        Check(
            "delay distributions",
            not failed,
            "Kolmogorov-Smirnov per status: " + (", ".join(worst) or "no drawn delay observable"),
            tuple(failed),
        )
    )
    mixes, bad_mix = [], []
    for phase, counts in sorted(tally.mix.items()):
        weights = plan.phases[phase].weights
        statistic, p = chi_squared_p([counts[i] for i in range(len(weights))], weights)
        name = plan.phases[phase].name or "(outside)"
        mixes.append(f"{name} chi2={statistic:.1f} p={p:.3f}")
        if p < _P_FLOOR:
            bad_mix.append(f"{name}: p={p:.5f}")
    checks.append(Check("phase mix", not bad_mix, "workflow mix per phase: " + ", ".join(mixes), tuple(bad_mix)))
    starts, bad_starts = [], []
    for i, planned in enumerate(plan.phases):
        if planned.expected_starts is None:
            continue
        seen, expected = tally.starts[i], planned.expected_starts
        tolerance = _POISSON_SIGMAS * math.sqrt(expected) + 1
        starts.append(f"{planned.name or '(outside)'} {seen} (expected {expected:.0f} +- {tolerance:.0f})")
        if abs(seen - expected) > tolerance:
            bad_starts.append(f"{planned.name or '(outside)'}: {seen} starts, expected {expected:.0f}")
    if starts:
        checks.append(
            Check("phase starts", not bad_starts, "payments started per phase: " + ", ".join(starts), tuple(bad_starts))
        )
    return checks
