"""The outcome of a run: the summary written as ``--summary-json``.

The file's schema, field by field, and its version policy: docs/reference/summary-json.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from synthpay.model.reports import AnomalyReport, DelayReport, PhaseReport, RunPlan

#: The ``version`` of the ``--summary-json`` schema written. Within a version fields are
#: only added, so readers of it keep working; anything else takes the next version.
SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class PartitionRange:
    """Where a run's records lie in one partition: the offsets from ``start`` up to ``end`` (exclusive).

    ``start`` is the partition's end when the sink was ready, before the run's first record,
    and ``end`` its end after the final flush: every record the run delivered there lies in
    between, and nothing else does unless another producer wrote to the partition meanwhile.
    """

    partition: int
    start: int
    end: int


class SummaryError(Exception):
    """A summary file that cannot be used; the message is one line naming the file and the problem."""


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
    # With the kafka sink: per topic, the offset range of each partition the run wrote to.
    offsets: Mapping[str, tuple[PartitionRange, ...]] = field(default_factory=dict)
    # With the file sink: the absolute directory its files were written to (verify reads them there).
    out: str = ""
    # With the kafka sink and a kafka.value_format other than avro: that format ("" means avro).
    value_format: str = ""
    # With the file sink and a file.format other than avro: that format ("" means avro).
    file_format: str = ""

    @property
    def events_cut(self) -> int:
        """Held-back anomalies a stop cut before they fell due: injected, never emitted on their topic."""
        return sum(self.anomalies.cut.values()) if self.anomalies is not None else 0

    @property
    def delivered_all(self) -> bool:
        """True when everything emitted was delivered."""
        return self.failed == 0 and self.undelivered == 0 and self.delivered == self.events_total

    @property
    def ok(self) -> bool:
        """True when everything emitted was delivered, and no injected event was cut by a stop."""
        return self.delivered_all and not self.events_cut

    def to_json(self) -> str:
        """The summary as one JSON document, its schema ``version`` first."""
        data: dict[str, Any] = {"version": SCHEMA_VERSION, **asdict(self)}
        # What only a scenario run has is left out of any other run's summary, which stays
        # as it was before scenarios existed (the loader fills in the defaults).
        tables = ((data, Summary), (data["plan"], RunPlan), (data["anomalies"] or {}, AnomalyReport))
        for table, kind in tables:
            for f in fields(kind):
                optional = f.default is not MISSING or f.default_factory is not MISSING
                if optional and f.name in table and not table[f.name]:
                    del table[f.name]
        data["events_per_s"] = round(self.events_total / self.elapsed_s, 1) if self.elapsed_s else None
        data["events_cut"] = self.events_cut
        data["ok"] = self.ok
        return json.dumps(data, indent=2)
