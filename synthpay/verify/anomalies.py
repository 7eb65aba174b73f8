"""verify's checks for a run with [anomalies] or zipf popularity.

The summary is the ground truth: what was injected, per kind and topic. Verify expects
exactly that many labelled records, and holds every record without a label to the clean
rules: its record timestamp is its ``ts`` (else it came late or out of order unlabelled),
and it is the only one of its (payment, status) (the duplicates check). A labelled
duplicate must repeat a record that arrived; a listed missing event must not arrive (the
workflow checks then see it filled in at the ts it would have had). Each kind's realized
rate, injected over candidates, must be within a binomial tolerance of its probability,
and with zipf the most popular source bank's share within one of the law's. With phases
the rates are judged per phase, and the labelled records counted per phase: out_of_order
under its payment's (the ``phase`` header), late and duplicate under the one in force at
their ``ts``, when they would have been emitted.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from synthpay.model.anomalies import LABELLED
from synthpay.model.entities import zipf_share
from synthpay.model.reports import AnomalyReport, HotBanks
from synthpay.model.timeline import Timeline
from synthpay.verify.checks import Check, Offenders

#: A realized count further than this many standard deviations from its expectation fails.
SIGMAS = 4.5
_LABELS = {kind.encode(): kind for kind in LABELLED}


@dataclass(slots=True)
class AnomalyTally:
    """What the records showed of anomalies: labels per kind and topic, and what broke the rules."""

    labelled: Counter[tuple[str, str]] = field(default_factory=Counter)
    copies: list[tuple[bytes, int, str]] = field(default_factory=list)  # labelled duplicates: (key, status, shown)
    mistimed: Offenders = field(default_factory=Offenders)
    sources: Counter[str] = field(default_factory=Counter)  # per source bank, on the first status's records
    phased: Counter[tuple[str, str]] = field(default_factory=Counter)  # labelled records per (kind, phase)
    missing: Counter[str] = field(default_factory=Counter)  # per status, the ground truth's missing events
    cut: Counter[str] = field(default_factory=Counter)  # per kind, the ground truth's events a stop cut

    def withhold(self, kind: str, cut: bool, status: str) -> bool:
        """Count one ground-truth record; False when ``kind`` cannot be withheld so."""
        if cut and kind in LABELLED:
            self.cut[kind] += 1
        elif not cut and kind == "missing":
            self.missing[status] += 1
        else:
            return False
        return True

    def record(self, topic: str, header: bytes | str | None, ts: int, timestamp: int | None, shown: str) -> str:
        """Tally one payment record's label and timestamp; return its kind ("" unlabelled, "?" unknown)."""
        raw = header.encode() if isinstance(header, str) else header
        kind = "" if raw is None else _LABELS.get(raw, "?")
        if kind:
            self.labelled[kind, topic] += 1
        # A labelled record's timestamp (the emission time) may be after its ts.
        if timestamp is not None and (timestamp < ts if kind in LABELLED else timestamp != ts):
            label = f"labelled {kind}" if kind else "unlabelled"
            self.mistimed.add(f"{shown}: record timestamp {timestamp}, ts {ts} ({label})")
        return kind

    def record_phase(self, kind: str, header: bytes | str | None, ts: int, timeline: Timeline) -> None:
        """Count a labelled record under the phase its kind was drawn in."""
        if kind == "out_of_order":
            self.phased[kind, header.decode(errors="replace") if isinstance(header, bytes) else header or ""] += 1
        elif kind in ("late", "duplicate"):
            self.phased[kind, timeline.name_at(ts)] += 1


def binomial_ok(hits: int, n: int, p: float) -> bool:
    """Whether ``hits`` of ``n`` trials is a plausible outcome at probability ``p``."""
    return abs(hits - n * p) <= SIGMAS * math.sqrt(n * p * (1 - p)) + 1


def checks(
    report: AnomalyReport | None,
    hot: HotBanks | None,
    tally: AnomalyTally,
    arrived: Callable[[bytes, int], bool],
    missing_arrived: list[str],
    ground_truth: bool = False,
) -> list[Check]:
    """The anomaly and popularity lines of verify's report.

    ``ground_truth``: the run wrote the events it withheld to a topic verify read, and the
    counts found there are judged against the summary's.
    """
    results: list[Check] = []
    if report is not None:
        expected = Counter(
            {
                (kind, topic): n
                for kind, by_topic in report.by_topic.items()
                if kind != "missing"
                for topic, n in by_topic.items()
                if n
            }
        )
        wrong = sorted(
            f"{kind} on {topic}: {tally.labelled[kind, topic]} labelled, summary {expected[kind, topic]}"
            for kind, topic in set(expected) | set(tally.labelled)
            if tally.labelled[kind, topic] != expected[kind, topic]
        )
        kinds = Counter[str]()
        for (kind, _), n in tally.labelled.items():
            kinds[kind] += n
        results.append(
            Check(
                "anomalies",
                not wrong,
                "labelled records as the summary injected them: "
                + ", ".join(f"{k} {kinds[k]}" for k in LABELLED)
                + f", missing {sum(report.missing.values())} (never emitted)",
                tuple(wrong),
            )
        )
        orphans = [shown for key, status, shown in tally.copies if not arrived(key, status)]
        if ground_truth:
            absent = f"{sum(tally.missing.values())} missing events on the ground truth, absent from their topics"
            unlisted = _withheld_counts("missing", report.missing, tally.missing)
        else:
            absent = f"{sum(len(ids) for ids in report.missing_ids.values())} listed missing events absent"
            unlisted = []
        results.append(
            Check(
                "missing",
                not missing_arrived and not orphans and not unlisted,
                f"{absent}; {len(tally.copies) - len(orphans)} labelled duplicates repeat a record that arrived",
                tuple(unlisted + missing_arrived + orphans),
            )
        )
        if report.cut or tally.cut:
            results.append(_cut(report, tally))
        rows = [(f"{row.name or '(outside)'} ", row.rates, row.candidates, row.injected) for row in report.phases]
        off = [
            f"{where}{kind}: {injected[kind]} of {candidates[kind]} (p = {p:g})"
            for where, rates, candidates, injected in rows or [("", report.rates, report.candidates, report.injected)]
            for kind, p in rates.items()
            if not binomial_ok(injected[kind], candidates[kind], p)
        ]
        results.append(
            Check(
                "rates",
                not off,
                f"each kind's realized rate{' per phase' if rows else ''} within "
                f"{SIGMAS:g} standard deviations of its probability",
                tuple(off),
            )
        )
        if report.phases:
            results.append(_phase_labels(report, tally))
    results.append(
        Check(
            "timestamps",
            not tally.mistimed.count,
            f"{tally.mistimed.count} records emitted at other than their ts without a label that says so",
            tuple(tally.mistimed.shown),
        )
    )
    if hot is not None:
        results.append(_zipf(hot, tally.sources))
    return results


def _withheld_counts(what: str, summary: Mapping[str, int], found: Counter[str]) -> list[str]:
    """Where the ground truth's counts differ from the summary's."""
    return sorted(
        f"{what} {name}: {found[name]} on the ground truth, summary {summary.get(name, 0)}"
        for name in set(summary) | set(found)
        if found[name] != summary.get(name, 0)
    )


def _cut(report: AnomalyReport, tally: AnomalyTally) -> Check:
    """The held-back events a stop cut: never on their topics, each on the ground truth."""
    wrong = _withheld_counts("cut", report.cut, tally.cut)
    shown = ", ".join(f"{kind} {report.cut.get(kind, 0)}" for kind in LABELLED)
    return Check(
        "held back",
        not wrong,
        f"{sum(report.cut.values())} held-back events cut by the stop before they fell due ({shown}): "
        "never emitted on their topics, each on the ground truth",
        tuple(wrong),
    )


def _phase_labels(report: AnomalyReport, tally: AnomalyTally) -> Check:
    # A held-back event a stop cut was injected in its phase, but labelled on the ground truth.
    expected = Counter({(kind, row.name): row.injected[kind] for row in report.phases for kind in LABELLED})
    wrong = sorted(
        f"{kind} in {phase or '(outside)'}: {tally.phased[kind, phase]} labelled, summary {expected[kind, phase]}"
        for kind, phase in set(expected) | set(tally.phased)
        if tally.phased[kind, phase] != expected[kind, phase]
    )
    return Check(
        "phase anomalies",
        not wrong,
        f"labelled records per phase as the summary injected them ({len(report.phases) - 1} phases and outside)",
        tuple(wrong),
    )


def _zipf(hot: HotBanks, sources: Counter[str]) -> Check:
    n = sum(sources.values())
    p = zipf_share(1, hot.sources, hot.zipf_s)
    top, hits = sources.most_common(1)[0] if sources else ("", 0)
    return Check(
        "hot banks",
        binomial_ok(hits, n, p),
        f"the most popular source bank has {hits} of {n} payments; zipf (s = {hot.zipf_s:g}) gives {n * p:.0f}",
        (top,) if top else (),
    )
