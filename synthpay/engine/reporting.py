"""The summary's rows about what the scheduler started: per phase and per status, and what [anomalies] injected.

Assembled once, at the end of a run, from what the scheduler counted along the way; none
of it runs per event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from synthpay.engine.injector import Injector
from synthpay.engine.scenario import Route, Scenario
from synthpay.engine.stats import EngineStats
from synthpay.model.events import Topic
from synthpay.model.reports import AnomalyReport, DelayReport, PhaseReport


def scenario_report(
    scenario: Scenario,
    cut_short: Iterable[tuple[tuple[Topic, ...], int]],
    timed: bool,
    start_ms: int,
    until_ms: int,
) -> tuple[tuple[PhaseReport, ...], dict[str, DelayReport]]:
    """Per phase (with a timeline: ``timed``) and per status figures.

    ``cut_short``: the route's topics and next step of every payment still in flight, whose
    remaining events were never emitted; ``until_ms``: when admission ended.
    """
    for topics, step in cut_short:
        scenario.cut(topics, step)
    phases = tuple(scenario.phase_report(start_ms, until_ms)) if timed else ()
    return phases, scenario.delay_report()


def anomaly_report(
    injector: Injector,
    stats: EngineStats,
    banks_topic: Topic,
    routes: Sequence[Route],
    labels: Sequence[str],
    phased: Scenario | None,
) -> AnomalyReport:
    """What [anomalies] injected, beside the records and payments it could have befallen.

    ``routes`` and ``labels`` are per workflow; ``phased`` is the scenario of a run with
    phases, whose payments are counted per phase.
    """
    records = sum(n for name, n in stats.emitted.items() if name not in (banks_topic.name, injector.ground_truth))
    long = [len(gaps) > 1 for gaps, _ in routes]  # only a payment of two steps or more can be swapped
    if phased is not None:
        swappable = [sum(n for n, ok in zip(regime.counts, long) if ok) for regime in phased.regimes]
    else:
        swappable = [sum(stats.workflows[label] for label, ok in zip(labels, long) if ok)]
    return injector.report(records, stats.started, swappable)
