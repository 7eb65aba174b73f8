"""What a payment gets when the run has phases or drawn delays: its workflow and its route.

Only built when the configuration asks for either, so a default run draws no extra random
number and takes no extra step per payment. Every delay of a payment is drawn when it
starts, from its own seeded stream, so a payment keeps its phase's weights and delay scales
to its end, and the wheel's hot loop stays as it is: it walks a route either way.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

from synthpay.config.settings import Settings
from synthpay.model.delays import Delay, Quantiles, fixed
from synthpay.model.events import Topic
from synthpay.model.reports import DelayReport, PhaseReport
from synthpay.model.timeline import Phase, Timeline
from synthpay.model.workflow import Mix, Status, Timing, Workflow, emission

#: A route: per step, the ms after the step before (or after the start), and per step the
#: topic, in emission order (:func:`synthpay.model.workflow.emission` makes every one). Two
#: flat tuples rather than a pair per step: a drawn sequential route is one new tuple, its
#: topics are the workflow's.
Route = tuple[tuple[int, ...], tuple[Topic, ...]]


def needed(statuses: Mapping[str, Status], phases: Sequence[Phase], workflows: Sequence[Workflow] = ()) -> bool:
    """True when payments need per-phase workflows, drawn delays or a workflow's own delays."""
    return bool(phases) or any(s.delay is not None for s in statuses.values()) or any(wf.delays for wf in workflows)


def plan(
    settings: Settings, topics: Mapping[str, Topic], rng: random.Random, start_ms: int
) -> tuple[Timeline | None, Scenario | None]:
    """The run's timeline (with phases or an arrival curve) and scenario (when :func:`needed`),
    for a run that starts at ``start_ms``; None for either the run does not need.

    ``rng`` is the drawn delays' own stream.
    """
    run = settings.run
    timeline = None
    if settings.phases or run.arrival_curve:
        timeline = Timeline(settings.phases, run.arrival_curve, run.rate, run.instance_count, start_ms)
    if not needed(settings.statuses, settings.phases, settings.workflows):
        return timeline, None
    scenario = Scenario(
        settings.workflows,
        settings.statuses,
        settings.timing,
        topics,
        timeline or Timeline((), (), run.rate, run.instance_count, start_ms),
        rng,
    )
    return timeline, scenario


def delay_of(status: Status) -> Delay:
    """The status's delay as a distribution (a fixed one for ``delay_ms``)."""
    return status.delay if status.delay is not None else fixed(status.delay_ms)


#: Whose delay a step takes: (status, "") for the status's own, (status, workflow name) for a
#: workflow's own delay of that status.
DelayKey = tuple[str, str]


def delay_key(workflow: Workflow, status: str) -> DelayKey:
    """The delay ``status`` takes in ``workflow``."""
    return (status, workflow.name if status in workflow.delays else "")


def delay_label(key: DelayKey) -> str:
    """How the summary names a delay: the status, or ``Failed in Initiated>Failed`` for a workflow's own."""
    status, workflow = key
    return f"{status} in {workflow}" if workflow else status


def delays_of(workflows: Sequence[Workflow], statuses: Mapping[str, Status]) -> dict[DelayKey, Delay]:
    """Every delay a step can take: each status's, then each workflow's own."""
    found = {(name, ""): delay_of(status) for name, status in statuses.items()}
    found.update({(name, wf.name): delay for wf in workflows for name, delay in wf.delays.items()})
    return found


#: One drawn step: the delay's table of quantiles, the bits that pick one, and the count of
#: draws per quantile drawn (the histogram of realized delays, without hashing a delay per draw).
_Drawn = tuple[tuple[int, ...], int, defaultdict[int, int]]


class Regime:
    """The weights and delays in force in one phase, or outside every phase (name "")."""

    __slots__ = (
        "_delays",
        "_fixed",
        "_lengths",
        "_names",
        "_scaled",
        "_steps",
        "_tables",
        "backlogged",
        "counts",
        "cut",
        "delays",
        "drawn",
        "mix",
        "name",
        "routes",
        "scale",
        "topics",
    )

    def __init__(
        self,
        name: str,
        workflows: Sequence[Workflow],
        statuses: Mapping[str, Status],
        timing: Timing,
        topics: Mapping[str, Topic],
        scale: Mapping[str, float],
        tables: dict[Delay, Quantiles],
    ) -> None:
        self.name = name
        self.mix = Mix(workflows, statuses, timing)
        self.scale = dict(scale)
        self._delays = {key: d.scaled(scale.get(key[0], 1.0)) for key, d in delays_of(workflows, statuses).items()}
        self._scaled = {key: self._delays[key] for s in scale for key in self._delays if key[0] == s}
        # Shared by every regime; a regime builds its drawn steps on its first drawn payment,
        # so a phase no payment started in costs no table and no counters.
        self._tables = tables
        # Realized delays per status (and workflow's own): draws per level of its table, only the levels drawn.
        self.delays: dict[DelayKey, defaultdict[int, int]] = {key: defaultdict(int) for key in self._delays}
        # A workflow whose delays are all fixed shares one route (its delays are counted from
        # the workflow's count at the end); the others draw one per payment.
        self.routes: list[Route | None] = []
        self.drawn: list[tuple[_Drawn, ...]] | None = None
        self.topics: list[tuple[Topic, ...]] = []
        self._fixed: list[tuple[tuple[DelayKey, int], ...]] = []
        self._steps = [tuple(delay_key(wf, s) for s in wf.steps) for wf in workflows]
        for wf, keys in zip(workflows, self._steps):
            steps = [self._delays[key] for key in keys]
            if all(d.fixed for d in steps):
                ms = [d.support()[0] for d in steps]
                self.routes.append(emission(ms, [topics[s] for s in wf.steps], timing))
                self._fixed.append(tuple(zip(keys, ms)))
            else:
                self.routes.append(None)
                self._fixed.append(())
            self.topics.append(tuple(topics[s] for s in wf.steps))
        self.counts = [0] * len(workflows)  # payments started, per workflow
        self.cut = 0  # events of payments cut short, which were never emitted
        self.backlogged = False  # arrivals waited for a worker while it was in force
        self._names = [wf.name for wf in workflows]
        self._lengths = [len(wf.steps) for wf in workflows]

    def build_drawn(self) -> list[tuple[_Drawn, ...]]:
        """Per workflow, per step: the table a delay is drawn from and its counters (built once)."""
        self.drawn = [tuple(self._drawn(s) for s in steps) for steps in self._steps]
        return self.drawn

    def _drawn(self, key: DelayKey) -> _Drawn:
        table = self._table(key)
        return table.ms, table.bits, self.delays[key]

    def _table(self, key: DelayKey) -> Quantiles:
        delay = self._delays[key]
        table = self._tables.get(delay)
        if table is None:
            table = self._tables[delay] = delay.table()
        return table

    @property
    def started(self) -> int:
        """Payments started in this regime."""
        return sum(self.counts)

    @property
    def events(self) -> int:
        """Events of the payments started in this regime, less those cut short."""
        return sum(c * n for c, n in zip(self.counts, self._lengths)) - self.cut

    @property
    def workflows(self) -> dict[str, int]:
        """Payments started per workflow name."""
        return dict(zip(self._names, self.counts))

    def scaled_delays(self) -> Mapping[DelayKey, Delay]:
        """The delays this regime scales, as scaled."""
        return self._scaled

    def realized(self, key: DelayKey) -> Mapping[int, int]:
        """The delays of a status (``key``: see :data:`DelayKey`) so far: whole ms -> payments."""
        histogram: Counter[int] = Counter()
        drawn = self.delays[key]
        if drawn:
            table = self._table(key).ms
            for level, count in drawn.items():
                histogram[table[level]] += count
        for count, fixed_steps in zip(self.counts, self._fixed):
            for step, ms in fixed_steps:
                if step == key and count:
                    histogram[ms] += count
        return histogram


class Scenario:
    """Picks each new payment's workflow and draws its route, by the phase it starts in."""

    __slots__ = ("_delays", "_rng", "_timing", "regimes", "timeline")

    def __init__(
        self,
        workflows: Sequence[Workflow],
        statuses: Mapping[str, Status],
        timing: Timing,
        topics: Mapping[str, Topic],
        timeline: Timeline,
        rng: random.Random,
    ) -> None:
        self.timeline = timeline
        self._timing = timing
        self._rng = rng
        # A table is built once per distinct (distribution, scale).
        tables: dict[Delay, Quantiles] = {}
        self.regimes = [Regime("", workflows, statuses, timing, topics, {}, tables)]
        for phase in timeline.phases:
            weights = phase.weights or {}
            phased = [dataclasses.replace(wf, weight=weights.get(wf.name, wf.weight)) for wf in workflows]
            phase_topics = {name: dataclasses.replace(t, phase=phase.name) for name, t in topics.items()}
            self.regimes.append(
                Regime(phase.name, phased, statuses, timing, phase_topics, phase.delay_scale or {}, tables)
            )
        self._delays = delays_of(workflows, statuses)

    def start(self, now: int, rng: random.Random) -> tuple[int, Route]:
        """A new payment's workflow index (picked with ``rng``) and route, for one starting at ``now``."""
        regimes = self.regimes
        regime = regimes[self.timeline.index_at(now) + 1] if len(regimes) > 1 else regimes[0]
        index = regime.mix.pick(rng).index
        regime.counts[index] += 1
        route = regime.routes[index]
        if route is not None:
            return index, route
        draw = self._rng.getrandbits
        delays = []
        drawn = regime.drawn if regime.drawn is not None else regime.build_drawn()
        for table, bits, counts in drawn[index]:
            level = draw(bits)
            counts[level] += 1
            delays.append(table[level])
        return index, emission(delays, regime.topics[index], self._timing)

    def held(self, now: int) -> None:
        """Arrivals are waiting for a worker at ``now``: the phase in force starts what the workers allow."""
        self.regimes[self.timeline.index_at(now) + 1].backlogged = True

    def cut(self, topics: tuple[Topic, ...], step: int) -> None:
        """A payment stopped before its end (``topics`` its route's): its remaining events were never emitted."""
        self.regimes[self._regime_index(topics[0].phase)].cut += len(topics) - step

    def _regime_index(self, phase: str) -> int:
        return next(i for i, r in enumerate(self.regimes) if r.name == phase)

    def phase_report(self, start_ms: int, until_ms: float) -> list[PhaseReport]:
        """Per phase ("" = outside every phase): starts, events, target and achieved rate, mix.

        ``until_ms`` is when admission ended: a phase cut short by the run's end is rated
        over the part of it that ran.
        """
        timeline, rows = self.timeline, []
        phase_s = 0.0
        for i, regime in enumerate(self.regimes[1:]):
            begin, end = timeline.span_ms(i)
            ran_s = max(0.0, min(end, until_ms) - begin) / 1000
            phase_s += ran_s
            rows.append(_phase_row(regime, timeline.mean_rate(i, until_ms), ran_s))
        outside = self.regimes[0]
        outside_s = max(0.0, (until_ms - start_ms) / 1000 - phase_s)
        rows.insert(0, _phase_row(outside, timeline.mean_rate_outside(start_ms, until_ms), outside_s))
        return rows

    def delay_report(self) -> dict[str, DelayReport]:
        """Per status, then per workflow's own delay: the configured distribution's p50/p99 next to the realized ones.

        Only payments that started outside every phase, or in a phase that does not scale
        the status, count here; a phase's scaled delays are reported with the phase. A
        status's row counts the workflows that take its delay, not those with their own.
        """
        report = {}
        for key, delay in self._delays.items():
            merged: defaultdict[int, int] = defaultdict(int)
            for regime in self.regimes:
                if key[0] not in regime.scale:
                    for ms, count in regime.realized(key).items():
                        merged[ms] += count
            report[delay_label(key)] = _delay_row(delay, merged)
        return report


def _phase_row(regime: Regime, target_rate: float, ran_s: float) -> PhaseReport:
    total = regime.started
    return PhaseReport(
        name=regime.name,
        started=total,
        events=regime.events,
        seconds=round(ran_s, 3),
        target_rate=round(target_rate, 3),
        achieved_rate=round(total / ran_s, 3) if ran_s else 0.0,
        workflows=dict(regime.workflows),
        mix={name: round(n / total, 4) if total else 0.0 for name, n in regime.workflows.items()},
        delay_scale=dict(regime.scale),
        backlogged=regime.backlogged,
        delays={
            delay_label(key): _delay_row(delay_of_scaled, regime.realized(key))
            for key, delay_of_scaled in regime.scaled_delays().items()
        },
    )


def _delay_row(delay: Delay, histogram: Mapping[int, int]) -> DelayReport:
    return DelayReport(
        configured=delay,
        configured_p50_ms=round(delay.quantile(0.5), 1),
        configured_p99_ms=round(delay.quantile(0.99), 1),
        count=sum(histogram.values()),
        p50_ms=_percentile(histogram, 0.5),
        p99_ms=_percentile(histogram, 0.99),
    )


def _percentile(histogram: Mapping[int, int], fraction: float) -> int | None:
    """The smallest delay that ``fraction`` of the counted ones are within; None when none."""
    total = sum(histogram.values())
    if not total:
        return None
    seen = 0
    for ms in sorted(histogram):
        seen += histogram[ms]
        if seen >= fraction * total:
            return ms
    return max(histogram)
