"""What a run planned and what its generator measured: the typed rows of the summary.

The generator (scenario, anomaly injector) fills them; the summary carries them; verify reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from synthpay.model.delays import Delay
from synthpay.model.timeline import Phase
from synthpay.model.workflow import Timing


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
    # Per workflow, its own delays (status -> delay); empty unless a workflow has any.
    workflow_delays: tuple[Mapping[str, Delay], ...] = ()
    phases: tuple[Phase, ...] = ()
    arrival_curve: tuple[float, ...] = ()
    hot_banks: HotBanks | None = None  # with popularity = "zipf"
    ground_truth_topic: str = ""  # with anomalies: the events deliberately not emitted


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
    # Arrivals waited for a worker while it was in force: its starts followed the workers,
    # not its target rate (a run whose payments outlast what --workers keeps in flight).
    backlogged: bool = False


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
    ``missing_ts`` beside each the ts it would have had; every missing event, listed or not,
    is on the ground-truth topic (``RunPlan.ground_truth_topic``). With phases, ``phases``
    has the same per phase, and ``rates`` are the run's (outside them). ``cut`` counts per
    kind the held-back events a stop cut before they fell due (injected, never emitted:
    they are on the ground-truth topic too).
    """

    rates: Mapping[str, float]
    candidates: Mapping[str, int]
    injected: Mapping[str, int]
    by_topic: Mapping[str, Mapping[str, int]]
    missing: Mapping[str, int]
    missing_ids: Mapping[str, tuple[str, ...]]
    missing_ts: Mapping[str, tuple[int, ...]]
    phases: tuple[PhaseAnomalies, ...] = ()
    cut: Mapping[str, int] = field(default_factory=dict)
