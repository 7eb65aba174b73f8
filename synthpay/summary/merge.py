"""One summary for a ``--processes`` run, from its children's."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from synthpay.model.reports import AnomalyReport, PhaseReport
from synthpay.summary.document import PartitionRange, Summary


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
        rows[0],
        started=started,
        events=sum(row.events for row in rows),
        target_rate=round(sum(row.target_rate for row in rows), 3),
        achieved_rate=round(sum(row.achieved_rate for row in rows), 3),
        workflows={name: workflows[name] for name in rows[0].workflows},
        mix={name: round(workflows[name] / started, 4) if started else 0.0 for name in rows[0].workflows},
        backlogged=any(row.backlogged for row in rows),
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
        run_id=first.run_id,
        seed=first.seed,
        sink=first.sink,
        clock=first.clock,
        elapsed_s=round(elapsed_s, 3),
        workflows=added("workflows"),
        statuses=added("statuses"),
        bank_updates=total("bank_updates"),
        banks_created=total("banks_created"),
        payments_started=total("payments_started"),
        payments_completed=total("payments_completed"),
        payments_cut=total("payments_cut"),
        events_total=total("events_total"),
        produced=total("produced"),
        delivered=total("delivered"),
        failed=total("failed"),
        undelivered=total("undelivered"),
        topics=topics,
        first_event_ts_ms=min(firsts) if firsts else None,
        last_event_ts_ms=max(lasts) if lasts else None,
        max_lag_ms=max(p.max_lag_ms for p in parts),
        plan=first.plan,
        lag_p50_ms=max(p.lag_p50_ms for p in parts),
        lag_p99_ms=max(p.lag_p99_ms for p in parts),
        setup_s=max(p.setup_s for p in parts),
        peak_in_flight=total("peak_in_flight"),
        peak_rss_mib=round(sum(p.peak_rss_mib for p in parts), 1),
        # Realized delay percentiles are the first child's: a sample of the whole run's.
        phases=_merge_phases(parts),
        delays=first.delays,
        anomalies=_merge_anomalies(parts),
        offsets=_merge_offsets(parts),
        out=first.out,  # the children share one directory
        value_format=first.value_format,
        file_format=first.file_format,
    )


def _merge_offsets(parts: Sequence[Summary]) -> dict[str, tuple[PartitionRange, ...]]:
    """Each partition's range spanning the children's; none when a child has none (its records could lie anywhere)."""
    if not all(p.offsets for p in parts):
        return {}
    spans: dict[str, dict[int, tuple[int, int]]] = {}
    for p in parts:
        for topic, ranges in p.offsets.items():
            spans.setdefault(topic, {})
            for r in ranges:
                start, end = spans[topic].get(r.partition, (r.start, r.end))
                spans[topic][r.partition] = (min(start, r.start), max(end, r.end))
    return {
        topic: tuple(PartitionRange(p, start, end) for p, (start, end) in sorted(by_partition.items()))
        for topic, by_partition in spans.items()
    }


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
        phases=tuple(
            replace(rows[0], candidates=added([r.candidates for r in rows]), injected=added([r.injected for r in rows]))
            for rows in zip(*(r.phases for r in reports))
        ),
        cut=added([r.cut for r in reports]),
    )
