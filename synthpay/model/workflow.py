"""Statuses, weighted workflows and the timing that turns a workflow into a schedule."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, TypeVar

from synthpay.model.delays import Delay

Timing = Literal["sequential", "parallel"]
_S = TypeVar("_S")


@dataclass(frozen=True, slots=True)
class Status:
    """A payment status: its simulated processing delay and the topic its events go to.

    ``delay`` is set when the delay is drawn from a distribution; ``delay_ms`` is then its
    median, for display only.
    """

    name: str
    delay_ms: int
    topic: str
    partitions: int
    delay: Delay | None = None


@dataclass(frozen=True, slots=True)
class Workflow:
    """A sequence of statuses one payment goes through, picked with probability weight/total.

    ``name`` defaults to the steps joined by ``>`` (``Initiated>Failed``). ``delays``: the
    statuses whose delay differs in this workflow (a Failed after Initiated is not a Failed
    after Accounted), each with its own; the others take their status's.
    """

    steps: tuple[str, ...]
    weight: int
    name: str = ""
    delays: Mapping[str, Delay] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", ">".join(self.steps))

    @property
    def label(self) -> str:
        """The original generator's spelling, e.g. ``[Initiated Failed]``."""
        return "[" + " ".join(self.steps) + "]"


@dataclass(frozen=True, slots=True)
class Step:
    """One event of a scheduled workflow: emitted ``offset_ms`` after the payment starts."""

    offset_ms: int
    status: Status


def emission(delays: Sequence[int], steps: Sequence[_S], timing: Timing) -> tuple[tuple[int, ...], tuple[_S, ...]]:
    """A route's delays and the timing, as the order its steps are emitted in: THE one place that decides it.

    Returns the gaps (per emitted step, the ms after the step emitted before it; the first
    counts from the payment's start) and ``steps`` in emission order. ``sequential``: each
    delay is the latency since the previous step, so the gaps are the delays and the order
    is the workflow's. ``parallel`` (the original's behaviour): every step fires at its own
    delay after the start; steps are sorted by it, ties keep workflow order.
    """
    if timing == "sequential":
        return tuple(delays), tuple(steps)
    order = sorted(range(len(delays)), key=delays.__getitem__)
    gaps, before = [], 0
    for i in order:
        gaps.append(delays[i] - before)
        before = delays[i]
    return tuple(gaps), tuple(steps[i] for i in order)


def schedule(
    workflow: Workflow, statuses: Mapping[str, Status], timing: Timing, quantile: float | None = None
) -> tuple[Step, ...]:
    """Offsets from the payment's start at which each status is emitted, in emission order (see :func:`emission`).

    Each step takes its typical delay (``delay_ms``, a drawn one's median), or with
    ``quantile`` a drawn delay at that quantile; the workflow's own delays where it has them.
    """
    gaps, ordered = emission(
        [step_ms(workflow, statuses[name], quantile) for name in workflow.steps],
        [statuses[name] for name in workflow.steps],
        timing,
    )
    return tuple(Step(offset, status) for offset, status in zip(itertools.accumulate(gaps), ordered))


def step_ms(workflow: Workflow, status: Status, quantile: float | None = None) -> int:
    """The whole-ms delay of ``status`` in ``workflow``: typical (the median), or at ``quantile`` when drawn."""
    own = workflow.delays.get(status.name)
    if own is None:
        if status.delay is None or quantile is None:
            return status.delay_ms
        return round(status.delay.quantile(quantile))
    if own.fixed:
        return own.support()[0]
    return int(own.quantile(0.5) + 0.5) if quantile is None else round(own.quantile(quantile))


@dataclass(frozen=True, slots=True)
class Plan:
    """A workflow together with its schedule, ready for the engine."""

    index: int
    workflow: Workflow
    steps: tuple[Step, ...]


class Mix:
    """Picks workflows by weight; holds every workflow's precomputed schedule."""

    __slots__ = ("_cumulative", "_total", "plans")

    def __init__(self, workflows: Sequence[Workflow], statuses: Mapping[str, Status], timing: Timing) -> None:
        self.plans = tuple(Plan(i, wf, schedule(wf, statuses, timing)) for i, wf in enumerate(workflows))
        self._cumulative = list(itertools.accumulate(wf.weight for wf in workflows))
        self._total = self._cumulative[-1]

    def pick(self, rng: random.Random) -> Plan:
        """A workflow drawn with probability proportional to its weight."""
        return self.plans[bisect.bisect_right(self._cumulative, rng.random() * self._total)]
