"""Statuses, weighted workflows and the timing that turns a workflow into a schedule."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from synthpay.model.delays import Delay

Timing = Literal["sequential", "parallel"]


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

    ``name`` defaults to the steps joined by ``>`` (``Initiated>Failed``).
    """

    steps: tuple[str, ...]
    weight: int
    name: str = ""

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


def schedule(workflow: Workflow, statuses: Mapping[str, Status], timing: Timing) -> tuple[Step, ...]:
    """Offsets from the payment's start at which each status is emitted.

    ``sequential``: each delay is the latency since the previous status, so events are in
    workflow order. ``parallel`` (the original's behaviour): every step fires at its own
    delay after the start; steps are sorted by offset, ties keep workflow order.
    """
    delays = [statuses[name].delay_ms for name in workflow.steps]
    offsets = list(itertools.accumulate(delays)) if timing == "sequential" else delays
    steps = [Step(off, statuses[name]) for off, name in zip(offsets, workflow.steps)]
    return tuple(sorted(steps, key=lambda s: s.offset_ms))


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
