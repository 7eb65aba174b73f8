"""What verify checks a run against: the run's ``--summary-json``, as the run was configured."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from synthpay.formats.values import AVRO, VALUE_FORMATS, ValueFormat
from synthpay.model.reports import AnomalyReport, HotBanks
from synthpay.model.timeline import Timeline
from synthpay.summary.document import PartitionRange, SummaryError
from synthpay.summary.load import load_summary
from synthpay.verify import scenario as scenario_checks
from synthpay.verify.scenario import ScenarioPlan


@dataclass(frozen=True, slots=True)
class Schedule:
    """One configured workflow: status indices in emission order and their offsets from the start."""

    label: str
    statuses: tuple[int, ...]
    offsets: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Manifest:
    """What verify needs from a run's summary."""

    run_id: str
    delivered: Mapping[str, int]  # per topic
    statuses: tuple[str, ...]  # a status's index is its slot in the packed timestamps
    status_of_topic: Mapping[str, int]
    banks_topic: str
    schedules: tuple[Schedule, ...]
    payments_started: int
    payments_cut: int
    scenario: ScenarioPlan | None = None  # phases or drawn delays: checked by scenario_checks
    anomalies: AnomalyReport | None = None  # [anomalies]: checked by anomaly_checks, with hot banks
    hot_banks: HotBanks | None = None
    first_status: int = 0  # the status whose records count each payment's source bank once
    anomaly_phases: Timeline | None = None  # phases with [anomalies]: their labelled records are counted per phase
    offsets: Mapping[str, tuple[PartitionRange, ...]] = field(default_factory=dict)  # where the run's records lie
    ground_truth: str = ""  # the topic of the events the run withheld ("" in a summary from before it)
    sink: str = "kafka"  # where the run wrote: what verify reads
    out: str = ""  # the file sink's directory ("" for other sinks, and in a summary from before it)
    value_format: ValueFormat = AVRO  # how the Kafka sink wrote the values (Avro in a summary from before others)

    def record_type(self, topic: str) -> str:
        """The record type of ``topic``'s values: "bank", "ground_truth" or "payment"."""
        if topic == self.banks_topic:
            return "bank"
        return "ground_truth" if topic == self.ground_truth else "payment"

    file_format: str = "avro"  # the file sink's format (avro in a summary from before it)

    @property
    def labelled(self) -> bool:
        """Whether records are checked for anomaly labels and timestamps."""
        return self.anomalies is not None or self.hot_banks is not None


def load_manifest(path: str) -> Manifest:
    """The manifest of a ``--summary-json`` file; SummaryError names what is wrong with it."""
    summary = load_summary(path)
    plan = summary.plan
    statuses = tuple(plan.statuses)
    index = {name: i for i, name in enumerate(statuses)}
    return Manifest(
        run_id=summary.run_id,
        delivered={topic: counts["delivered"] for topic, counts in summary.topics.items()},
        statuses=statuses,
        status_of_topic={spec.topic: index[name] for name, spec in plan.statuses.items()},
        banks_topic=plan.banks_topic,
        schedules=tuple(
            Schedule(wf.label, tuple(index[s] for s, _ in wf.schedule), tuple(offset for _, offset in wf.schedule))
            for wf in plan.workflows
        ),
        payments_started=summary.payments_started,
        payments_cut=summary.payments_cut,
        scenario=scenario_checks.scenario_plan(summary, statuses),
        anomalies=summary.anomalies,
        hot_banks=plan.hot_banks,
        first_status=index[plan.workflows[0].steps[0]] if plan.workflows else 0,
        anomaly_phases=(
            Timeline(plan.phases, (), 1.0, 1, summary.first_event_ts_ms)
            if summary.anomalies and summary.anomalies.phases and summary.first_event_ts_ms is not None
            else None
        ),
        offsets=summary.offsets,
        ground_truth=plan.ground_truth_topic,
        sink=summary.sink,
        out=summary.out,
        value_format=_value_format(path, summary.value_format),
        file_format=summary.file_format or "avro",
    )


def _value_format(path: str, name: str) -> ValueFormat:
    """The value format a summary names ("" for Avro); SummaryError for one this synthpay does not read."""
    if not name:
        return AVRO
    if name not in VALUE_FORMATS:
        raise SummaryError(
            f"summary {path!r}: value_format {name!r} is no value format this synthpay reads "
            f"(it reads {', '.join(VALUE_FORMATS)}); upgrade synthpay to read it"
        )
    return VALUE_FORMATS[name]
