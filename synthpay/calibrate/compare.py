"""Two profiles side by side: is B (say, synthetic traffic) close enough to A (say, the real thing)?

Each aspect the issue names is a row: per status the two-sample Kolmogorov-Smirnov statistic
on its delays, chi-squared homogeneity of the workflow mix, payments started per hour, bank
popularity and the anomaly rates; statuses and paths only one source has. A row is judged
against its threshold, and passes anyway when the difference is within the noise of the
samples (``Thresholds.sigmas`` standard errors): a small real sample is not failed for what
it cannot resolve. Rows without a threshold are shown, not judged.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from synthpay.calibrate.paths import missing_payments
from synthpay.calibrate.profile import Path, Profile, Sample
from synthpay.calibrate.zipf import fit_popularity
from synthpay.model.goodness import chi_squared_homogeneity, ks_p_value

HOUR_MS = 3_600_000
#: An hour is compared only when each source covers at least this share of it (its first
#: start to its last): the rate of a few minutes' tail is mostly noise.
MIN_COVERED = 0.25
#: Paths holding at least this share of payments in either source get a row of their own.
SHOWN_PATH_SHARE = 0.001

Bound = Literal["max", "min"]
Section = Literal["delays", "mix", "only", "rate", "banks", "anomalies"]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where each row fails (the ``compare`` flags); defaults from the issue's round trip."""

    max_ks: float = 0.02  # per-status delay KS statistic
    min_mix_p: float = 0.001  # workflow mix: chi-squared homogeneity p-value
    max_rate_diff: float = 0.05  # payments per hour (each hour, and overall), relative to A
    max_banks_diff: float = 0.05  # number of banks, relative to A
    max_top_share_diff: float = 0.01  # the busiest bank's share of bank references, absolute
    max_bank_ks: float = 0.02  # largest gap between the cumulative rank-share curves
    max_anomaly_diff: float = 0.002  # each anomaly rate, absolute
    max_only_share: float = 0.001  # share of payments on a status or path the other source lacks
    #: A difference within this many standard errors of sampling noise passes whatever its
    #: threshold says (KS: its p-value above the matching two-sided normal tail); 0: thresholds only.
    sigmas: float = 3.0

    @property
    def alpha(self) -> float:
        """The p-value below which a KS difference is beyond noise: the two-sided tail at ``sigmas``."""
        return math.erfc(self.sigmas / math.sqrt(2.0))


@dataclass(frozen=True, slots=True)
class Row:
    """One aspect of the two sources, and whether it is close enough.

    ``a`` and ``b`` are in ``unit`` (``ms``: a median delay; ``/h``: payments per hour;
    ``share``: a fraction; ``count``; ``s``: a zipf exponent, 0 for uniform popularity);
    ``statistic`` is ``statistic_name`` (``ks``, ``p``, ``relative_diff``, ``diff``, ``share``)
    and passes when ``<= threshold`` (``bound`` max) or ``>= threshold`` (min). ``passed``
    None: shown, not judged.
    """

    section: Section
    name: str
    a: float | None
    b: float | None
    unit: str
    statistic_name: str = ""
    statistic: float | None = None
    bound: Bound = "max"
    threshold: float | None = None
    passed: bool | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Side:
    """What one side was: its label and the size of what was read."""

    label: str
    events: int
    payments: int
    first_ms: int
    last_ms: int


@dataclass(frozen=True, slots=True)
class Comparison:
    """Every row, and the two sides they compare."""

    a: Side
    b: Side
    thresholds: Thresholds
    rows: tuple[Row, ...]

    @property
    def failed(self) -> tuple[Row, ...]:
        """The rows that crossed their threshold."""
        return tuple(row for row in self.rows if row.passed is False)

    @property
    def passed(self) -> bool:
        """True when no row crossed its threshold."""
        return not self.failed


def compare(
    a: Profile, b: Profile, thresholds: Thresholds | None = None, labels: tuple[str, str] = ("", "")
) -> Comparison:
    """Set ``b`` beside ``a``, row by row; ``labels`` name them (default: the sources read)."""
    t = thresholds or Thresholds()
    rows = [
        *delay_rows(a, b, t),
        *mix_rows(a, b, t),
        *only_rows(a, b, t),
        *rate_rows(a, b, t),
        *bank_rows(a, b, t),
        *anomaly_rows(a, b, t),
    ]
    return Comparison(_side(a, labels[0]), _side(b, labels[1]), t, tuple(rows))


def _side(profile: Profile, label: str) -> Side:
    return Side(
        label or ", ".join(profile.sources), profile.events, profile.payments, profile.first_ms, profile.last_ms
    )


# Delays ------------------------------------------------------------------------------------

#: A pooled sample: (value, weight) sorted by value.
Weighted = tuple[tuple[float, float], ...]


def pooled_delays(profile: Profile) -> dict[str, Weighted]:
    """Per status, its delays (gap since the step before) pooled over every path it ends a step of.

    Each path's sample is a reservoir of its own: a value stands for ``seen / len(values)``
    delays, so a rare path's fully kept sample does not outweigh a common path's thinned one.
    """
    by_status: dict[str, list[Sample]] = {}
    for (path, step), sample in profile.gaps.items():
        by_status.setdefault(path[step], []).append(sample)
    return {status: pool(samples) for status, samples in by_status.items()}


def pool(samples: Iterable[Sample]) -> Weighted:
    """The samples' values together, each weighted by how many values seen it stands for."""
    pairs: list[tuple[float, float]] = []
    for sample in samples:
        if sample.values:
            weight = sample.seen / len(sample.values)
            pairs.extend((value, weight) for value in sample.values)
    pairs.sort()
    return tuple(pairs)


def weighted_ks(a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]) -> float:
    """The two-sample KS statistic of weighted samples (sorted by value): the largest gap between their CDFs.

    Both CDFs are compared after every distinct value, all copies of a tied value taken
    together; with equal weights this is the plain two-sample statistic.
    """
    total_a, total_b = sum(w for _, w in a), sum(w for _, w in b)
    if not total_a or not total_b:
        raise ValueError("two non-empty samples are needed")
    i = j = 0
    cum_a = cum_b = worst = 0.0
    while i < len(a) and j < len(b):
        value = min(a[i][0], b[j][0])
        while i < len(a) and a[i][0] == value:
            cum_a += a[i][1]
            i += 1
        while j < len(b) and b[j][0] == value:
            cum_b += b[j][1]
            j += 1
        worst = max(worst, abs(cum_a / total_a - cum_b / total_b))
    return worst


def effective_size(sample: Sequence[tuple[float, float]]) -> int:
    """Kish's effective sample size of weighted values: (sum of weights)^2 / sum of squared weights."""
    squares = sum(w * w for _, w in sample)
    return round(sum(w for _, w in sample) ** 2 / squares) if squares else 0


def weighted_median(sample: Sequence[tuple[float, float]]) -> float:
    """The first value at or past half the total weight."""
    half = sum(w for _, w in sample) / 2.0
    cumulative = 0.0
    for value, weight in sample:
        cumulative += weight
        if cumulative >= half:
            return value
    raise ValueError("an empty sample has no median")


def delay_rows(a: Profile, b: Profile, t: Thresholds) -> list[Row]:
    """Per status, the KS statistic between its delays in ``a`` and in ``b`` (medians shown)."""
    delays_a, delays_b = pooled_delays(a), pooled_delays(b)
    rows = []
    for status in statuses(a, b):
        da, db = delays_a.get(status), delays_b.get(status)
        if not da and not db:
            note = "first step only: no step before it, no delay to compare"
            rows.append(Row("delays", status, None, None, "ms", note=note))
        elif not da or not db:
            note = f"delays in {'A' if da else 'B'} only (a first step in the other)"
            rows.append(Row("delays", status, _median(da), _median(db), "ms", note=note))
        else:
            d = weighted_ks(da, db)
            n, m = effective_size(da), effective_size(db)
            p = ks_p_value(d, n, m)
            judged = _judge(d, t.max_ks, "max", noise=p >= t.alpha)
            note = f"n {n:,} and {m:,}, p {p:.3g}" + judged[1]
            rows.append(
                Row(
                    "delays",
                    status,
                    weighted_median(da),
                    weighted_median(db),
                    "ms",
                    "ks",
                    d,
                    "max",
                    t.max_ks,
                    judged[0],
                    note,
                )
            )
    return rows


def _median(sample: Weighted | None) -> float | None:
    return weighted_median(sample) if sample else None


def statuses(a: Profile, b: Profile) -> list[str]:
    """Every status either has, in the order the most common paths go through them."""
    ordered: dict[str, None] = {}
    for profile in (a, b):
        for path, _ in sorted(profile.paths.items(), key=lambda item: -item[1]):
            ordered.update(dict.fromkeys(path))
    return list(ordered)


# Workflow mix ------------------------------------------------------------------------------


def mix_rows(a: Profile, b: Profile, t: Thresholds) -> list[Row]:
    """Chi-squared homogeneity of the paths' counts, then each common enough path's shares."""
    statistic, df, p = chi_squared_homogeneity(a.paths, b.paths)
    passed, note = (p >= t.min_mix_p, f"chi-squared {statistic:.1f}, df {df}")
    rows = [Row("mix", "workflow mix", len(a.paths), len(b.paths), "paths", "p", p, "min", t.min_mix_p, passed, note)]
    shares_a, shares_b = _shares(a.paths), _shares(b.paths)
    shown = [
        path
        for path in _by_count(a.paths, b.paths)
        if max(shares_a.get(path, 0.0), shares_b.get(path, 0.0)) >= SHOWN_PATH_SHARE
    ]
    rows += [Row("mix", ">".join(path), shares_a.get(path, 0.0), shares_b.get(path, 0.0), "share") for path in shown]
    return rows


def _shares(counts: Mapping[Path, int]) -> dict[Path, float]:
    total = sum(counts.values())
    return {key: n / total for key, n in counts.items()} if total else {}


def _by_count(a: Mapping[Path, int], b: Mapping[Path, int]) -> list[Path]:
    """Every path, the most common (in A, then in B) first."""
    return sorted(a.keys() | b.keys(), key=lambda path: (-a.get(path, 0), -b.get(path, 0), path))


# In one source only ------------------------------------------------------------------------


def only_rows(a: Profile, b: Profile, t: Thresholds) -> list[Row]:
    """The statuses, then the paths, one source has and the other lacks, by the share of payments on them."""
    rows = []
    for status in statuses(a, b):
        for mine, theirs, side in ((a, b, "A"), (b, a, "B")):
            if _has_status(mine, status) and not _has_status(theirs, status):
                share = _share_of(mine, [path for path in mine.paths if status in path])
                rows.append(_only_row(f"status {status}", side, share, t, ""))
    for mine, theirs, side in ((a, b, "A"), (b, a, "B")):
        own = [path for path in mine.paths if path not in theirs.paths]
        share = _share_of(mine, own)
        biggest = max(own, key=lambda path: mine.paths[path], default=None)
        note = f"{len(own)} paths, the largest {'>'.join(biggest)}" if biggest else "none"
        rows.append(_only_row("paths", side, share, t, note))
    return rows


def _has_status(profile: Profile, status: str) -> bool:
    return any(status in path for path in profile.paths)


def _share_of(profile: Profile, paths: Iterable[Path]) -> float:
    """The share of the profile's payments on ``paths``."""
    total = sum(profile.paths.values())
    return sum(profile.paths[path] for path in paths) / total if total else 0.0


def _only_row(name: str, side: str, share: float, t: Thresholds, note: str) -> Row:
    a, b = (share, None) if side == "A" else (None, share)
    passed = share <= t.max_only_share
    return Row("only", f"{name} in {side} only", a, b, "share", "share", share, "max", t.max_only_share, passed, note)


# Rates -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hour:
    """Payments started in one hour since a source's first start, and how much of it the source covers."""

    started: int
    covered_ms: float

    @property
    def per_hour(self) -> float:
        """The rate over the covered part, in payments per hour."""
        return self.started / self.covered_ms * HOUR_MS


def span_ms(profile: Profile) -> float:
    """From the first payment's start to the last's (the starts' gaps, summed)."""
    return profile.arrivals.gaps * profile.arrivals.gap_mean_ms


def hours(profile: Profile) -> list[Hour]:
    """Payments started in each hour since the source's first event, and the part of it covered.

    Counted from the profile's time bins when they divide an hour, else from its whole
    clock hours (then the first and last are covered only from the first start and to the
    last). A source covers from its first start to its last.
    """
    if profile.bins and profile.bin_ms <= HOUR_MS and HOUR_MS % profile.bin_ms == 0:
        width = profile.bin_ms
        slots: Mapping[int, int] = {k: sum(b.paths.values()) for k, b in profile.bins.items()}
    else:
        width, slots = HOUR_MS, profile.arrivals.per_hour
    if not slots:
        return []
    first = profile.first_ms
    last = first + span_ms(profile)
    origin = first // width * width
    started: Counter[int] = Counter()
    for slot, count in slots.items():
        started[(slot * width - origin) // HOUR_MS] += count
    result = []
    for hour in range(max(started) + 1):
        begin, end = origin + hour * HOUR_MS, origin + (hour + 1) * HOUR_MS
        result.append(Hour(started[hour], max(0.0, min(end, last) - max(begin, first))))
    return result


def rate_rows(a: Profile, b: Profile, t: Thresholds) -> list[Row]:
    """Payments per hour, overall then hour by hour since each source's own first event."""
    rows = []
    span_a, span_b = span_ms(a), span_ms(b)
    if span_a > 0 and span_b > 0:
        overall = (Hour(a.arrivals.gaps, span_a), Hour(b.arrivals.gaps, span_b))
        rows.append(_rate_row("overall", *overall, t))
    else:
        rows.append(Row("rate", "overall", None, None, "/h", note="fewer than two payments started: no rate"))
    for index, (hour_a, hour_b) in enumerate(zip(hours(a), hours(b))):
        if min(hour_a.covered_ms, hour_b.covered_ms) >= MIN_COVERED * HOUR_MS:
            name = f"hour {index}" + ("" if min(hour_a.covered_ms, hour_b.covered_ms) >= HOUR_MS else " (part)")
            rows.append(_rate_row(name, hour_a, hour_b, t))
    return rows


def _rate_row(name: str, a: Hour, b: Hour, t: Thresholds) -> Row:
    ra, rb = a.per_hour, b.per_hour
    diff = abs(rb - ra) / ra if ra else (0.0 if not rb else math.inf)
    # Poisson counts: each rate's standard error is the rate over the root of its count.
    se = math.sqrt((ra * ra / a.started if a.started else 0.0) + (rb * rb / b.started if b.started else 0.0))
    passed, note = _judge(diff, t.max_rate_diff, "max", noise=abs(rb - ra) <= t.sigmas * se)
    return Row("rate", name, ra, rb, "/h", "relative_diff", diff, "max", t.max_rate_diff, passed, note.lstrip(", "))


# Banks -------------------------------------------------------------------------------------


def bank_counts(profile: Profile) -> Counter[str]:
    """Payments per bank, as source or destination."""
    return Counter(profile.sources_seen) + Counter(profile.destinations_seen)


def rank_shares(counts: Mapping[str, int]) -> list[float]:
    """Each bank's share of the references, the busiest first."""
    total = sum(counts.values())
    return [n / total for n in sorted(counts.values(), reverse=True)]


def rank_ks(a: Sequence[float], b: Sequence[float]) -> float:
    """The largest gap between two cumulative rank-share curves (the shorter one at 1 past its end)."""
    cum_a = cum_b = worst = 0.0
    for rank in range(max(len(a), len(b))):
        cum_a += a[rank] if rank < len(a) else 0.0
        cum_b += b[rank] if rank < len(b) else 0.0
        worst = max(worst, abs(cum_a - cum_b))
    return worst


def bank_rows(a: Profile, b: Profile, t: Thresholds) -> list[Row]:
    """The number of banks, the busiest one's share, the popularity fitted, the rank-share curves' gap."""
    counts_a, counts_b = bank_counts(a), bank_counts(b)
    if not counts_a or not counts_b:
        lacking = "either" if not counts_a and not counts_b else ("A" if not counts_a else "B")
        return [Row("banks", "banks", len(counts_a), len(counts_b), "count", note=f"no bank fields in {lacking}")]
    na, nb = len(counts_a), len(counts_b)
    refs_a, refs_b = sum(counts_a.values()), sum(counts_b.values())
    shares_a, shares_b = rank_shares(counts_a), rank_shares(counts_b)
    banks_diff = abs(nb - na) / na
    rows = [
        Row(
            "banks",
            "banks",
            na,
            nb,
            "count",
            "relative_diff",
            banks_diff,
            "max",
            t.max_banks_diff,
            banks_diff <= t.max_banks_diff,
        ),
        _proportion_row(
            "banks", "top-bank share", (shares_a[0], refs_a), (shares_b[0], refs_b), t.max_top_share_diff, t
        ),
        _popularity_row(counts_a, counts_b),
    ]
    d = rank_ks(shares_a, shares_b)
    p = ks_p_value(d, refs_a, refs_b)
    passed, note = _judge(d, t.max_bank_ks, "max", noise=p >= t.alpha)
    rows.append(Row("banks", "rank shares", None, None, "", "ks", d, "max", t.max_bank_ks, passed, f"p {p:.3g}" + note))
    return rows


def _popularity_row(counts_a: Mapping[str, int], counts_b: Mapping[str, int]) -> Row:
    """The popularity ``zipf`` fits to each side's counts: its ``s``, 0 for uniform (shown, not judged)."""
    fitted = [fit_popularity(sorted(counts.values(), reverse=True)) for counts in (counts_a, counts_b)]
    s = [fit.s if fit.kind == "zipf" else 0.0 for fit in fitted]
    words = [f"zipf s {fit.s:.2f}" if fit.kind == "zipf" else "uniform" for fit in fitted]
    return Row("banks", "popularity", s[0], s[1], "s", note=f"{words[0]} vs {words[1]}")


# Anomalies ---------------------------------------------------------------------------------


def anomaly_rows(a: Profile, b: Profile, t: Thresholds) -> list[Row]:
    """Duplicates and late events per event, out-of-order and missing per payment."""
    rows = [
        _proportion_row(
            "anomalies",
            "duplicates / events",
            *_counted(a, b, lambda p: (p.anomalies.duplicates, p.events)),
            t.max_anomaly_diff,
            t,
        ),
        _proportion_row(
            "anomalies",
            "late / events",
            *_counted(a, b, lambda p: (p.anomalies.late.seen, p.events)),
            t.max_anomaly_diff,
            t,
        ),
        _proportion_row(
            "anomalies",
            "out_of_order / payments",
            *_counted(a, b, lambda p: (p.anomalies.out_of_order, p.payments)),
            t.max_anomaly_diff,
            t,
        ),
        _proportion_row("anomalies", "missing / payments", *_counted(a, b, _missing), t.max_anomaly_diff, t),
    ]
    if a.record_timestamps != b.record_timestamps:
        which = "A" if a.record_timestamps else "B"
        rows[1] = _noted(
            rows[1], f"only {which} has record timestamps: the other's lateness is measured against file order"
        )
    return rows


def _missing(profile: Profile) -> tuple[int, int]:
    """Payments on a path that is a workflow with events missing (the fit's classifier), of all payments."""
    return missing_payments(profile.paths), profile.payments


def _counted(
    a: Profile, b: Profile, count: Callable[[Profile], tuple[int, int]]
) -> tuple[tuple[float, int], tuple[float, int]]:
    (ka, na), (kb, nb) = count(a), count(b)
    return (ka / na if na else 0.0, na), (kb / nb if nb else 0.0, nb)


def _proportion_row(
    section: Section, name: str, a: tuple[float, int], b: tuple[float, int], threshold: float, t: Thresholds
) -> Row:
    """Two proportions (each with the count it is of), judged by their absolute difference."""
    (pa, na), (pb, nb) = a, b
    diff = abs(pb - pa)
    # Binomial standard error of the difference, under the pooled proportion.
    pooled = (pa * na + pb * nb) / (na + nb) if na + nb else 0.0
    se = math.sqrt(pooled * (1.0 - pooled) * ((1.0 / na if na else 0.0) + (1.0 / nb if nb else 0.0)))
    passed, note = _judge(diff, threshold, "max", noise=diff <= t.sigmas * se)
    return Row(section, name, pa, pb, "share", "diff", diff, "max", threshold, passed, note.lstrip(", "))


def _noted(row: Row, note: str) -> Row:
    return replace(row, note="; ".join(filter(None, (row.note, note))))


def _judge(statistic: float, threshold: float, bound: Bound, *, noise: bool) -> tuple[bool, str]:
    """Whether the statistic passes, and a note when only the noise allowance let it."""
    if statistic <= threshold if bound == "max" else statistic >= threshold:
        return True, ""
    return (True, ", within noise") if noise else (False, "")
