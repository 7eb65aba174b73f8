"""One streaming pass: payment status events in arrival order folded into a :class:`Profile`.

Memory is per open payment, never per event read. A payment is open from its first event
until it has been idle for the horizon: the watermark (the largest arrival time read)
less its last arrival exceeds it. Then its events are folded into the aggregates
(:class:`_Aggregates`) and dropped. The horizon adapts: ``horizon_factor`` times the
longest payment yet closed (first to last arrival), never less than ``horizon_ms`` nor
more than ``horizon_max_ms``; while more than ``crowded`` payments are open, the least is
``crowded_horizon_ms`` instead, so a dense stream keeps a minute of payments, not a
quarter of an hour of them. A payment with events after it was closed was split by the
horizon: it is counted (``Profile.split``), the horizon grows to cover the gap that split
it, and its late comers are left out (its first part is already counted). Closed ids are
remembered for between one and two horizons, in two generations, for this.

At the end of the input every payment is closed, but one whose path is a strict prefix of
a longer path seen (closed before, or open at the end) and whose last arrival is within
the longest step yet seen (in event time) of the end is counted as open (``open_at_end``)
rather than as a path of its own: the end of the input most likely cut it.

Dirty data, per closed payment (see :mod:`synthpay.engine.injector` for what the
generator does): a repeat of a (status, time) pair is a duplicate and is dropped. An
event e that arrived after its own time, whose next status f (in event time) is later
than e, and that arrived within ``swap_window_ms`` of f's time on either side, is the
held-back half of a swap if it also arrived after f or, when arrival times are estimates
(no record timestamps, see ``Observation.arrival_ms``), nearer f's time than its own: a
file reader's estimate of a held-back event's arrival is the largest time read from its
file before it, at or just before f's time. A payment with such an event is counted once
as out of order. Any other event that arrived more than ``lateness_ms`` after its time is
late.

Speed: the per-event loop only files the event under its payment; a closed payment is
reduced to its path and event times, and closed payments are folded in batches
(:meth:`_Aggregates.flush`), sorted by start so that each time bin's sums are taken over
slices by built-ins rather than step by step.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat
from operator import floordiv, itemgetter, mul, sub

from synthpay.calibrate.observations import Observation
from synthpay.calibrate.profile import Anomalies, Arrivals, Bin, Path, Profile, Sample
from synthpay.calibrate.reservoir import Reservoir, Rows

_HOUR_MS = 3_600_000
_NEVER = 1 << 62  # a due time past any arrival
_BATCH = 4096  # closed payments folded at a time
_ts = itemgetter(2)
_status = itemgetter(1)
_arrival = itemgetter(3)
_source = itemgetter(4)
_destination = itemgetter(5)
_amount = itemgetter(6)
_currency = itemgetter(7)


@dataclass(frozen=True, slots=True)
class ProfilerOptions:
    """How a pass samples, bins and decides when a payment is over."""

    reservoir: int = 100_000  # values kept per sample (per path and step, amounts, lateness)
    bin_ms: int = 10_000  # width of the time bins payments are counted in, by start
    #: The least idle time after which a payment is closed (ms): longer than the slowest
    #: step of a real workflow (minutes), short enough to bound the payments kept open.
    horizon_ms: int = 900_000
    #: Open payments beyond which the horizon gives way to ``crowded_horizon_ms``: a dense
    #: stream (thousands of payments a second) would otherwise hold every payment of the
    #: horizon's span, and its payments are short-lived anyway.
    crowded: int = 200_000
    crowded_horizon_ms: int = 60_000
    #: The horizon is at least this many times the longest payment yet closed.
    horizon_factor: float = 2.0
    #: ... and at most this (ms): memory is the payments started within a horizon.
    horizon_max_ms: int = 7_200_000
    #: An event that arrived more than this after its time is late (unless swapped).
    lateness_ms: int = 1000
    #: A swapped event arrives within this of the later status's time, either side (the
    #: generator emits it 1 ms after; a file's estimate is at or just before). Narrower
    #: than the lateness tolerance: a late event landing in the window is taken for a
    #: swap, and the window's width sets how often.
    swap_window_ms: int = 250
    seed: int = 0  # of the reservoirs' random draws: the same input gives the same profile

    def __post_init__(self) -> None:
        for name in ("reservoir", "bin_ms", "horizon_ms", "crowded", "crowded_horizon_ms"):
            if getattr(self, name) < 1:
                raise ValueError(f"ProfilerOptions.{name} must be at least 1, not {getattr(self, name)}")
        if self.horizon_factor < 1 or min(self.lateness_ms, self.swap_window_ms) < 0:
            raise ValueError(
                "ProfilerOptions: horizon_factor must be at least 1, lateness_ms and swap_window_ms at least 0"
            )
        if self.horizon_max_ms < self.horizon_ms:
            raise ValueError("ProfilerOptions: horizon_max_ms must be at least horizon_ms")


class _Aggregates:
    """What closed payments leave behind: counts, sums and samples, no payment."""

    def __init__(self, options: ProfilerOptions, record_timestamps: bool) -> None:
        self.size = options.reservoir
        self.bin_ms = options.bin_ms
        self.tolerance = options.lateness_ms
        self.window = options.swap_window_ms
        self.longest_step = 0  # the longest gap between two steps of a closed payment (ms)
        self.estimated = not record_timestamps
        self.rng = random.Random(options.seed)
        self.events = 0  # of the closed payments, duplicates included
        self.duplicates = 0
        self.out_of_order = 0
        self.first_ms: int | None = None
        self.last_ms: int | None = None
        #: Per path: its payments' event times (a sample), which count the path's payments too.
        self.paths: dict[Path, Rows] = {}
        # bin -> (payments per path, per status [count, sum ln(1 + gap), sum ln(1 + gap)^2])
        self.bins: dict[int, tuple[dict[Path, int], dict[str, list[float]]]] = {}
        self.per_hour: Counter[int] = Counter()
        self.sources: Counter[str | None] = Counter()
        self.destinations: Counter[str | None] = Counter()
        self.currencies: Counter[str | None] = Counter()
        self.amounts = Reservoir(self.size, self.rng)
        self.late = Reservoir(self.size, self.rng)
        # Closed, not yet folded: event times per path, and each payment's entities.
        self.pending: dict[Path, list[list[int]]] = {}
        self.entities: list[Observation] = []  # each payment's first event, carrying its entities

    def close(self, payments: list[list[Observation]]) -> None:
        """File payments' events (each in arrival order) to be folded into the aggregates."""
        pending = self.pending
        entities = self.entities
        events_seen = 0
        for events in payments:
            events_seen += len(events)
            events.sort(key=_ts)  # stable: ties stay in arrival order
            times = list(map(_ts, events))
            if len(set(times)) < len(times):
                events = self._dedupe(events)
                times = list(map(_ts, events))
            if list(map(_arrival, events)) != times:
                self._displaced(events, times[0])
            path = tuple(map(_status, events))
            rows = pending.get(path)
            if rows is None:
                pending[path] = [times]
            else:
                rows.append(times)
            first = events[0]
            entities.append(_first_carrying(events) if None in first else first)
        self.events += events_seen
        if len(entities) >= _BATCH:
            self.flush()

    def path_of(self, events: list[Observation]) -> Path:
        """The path ``events`` would close with (without counting anything)."""
        kept: dict[tuple[str, int], str] = {}
        for e in sorted(events, key=_ts):
            kept.setdefault((e[1], e[2]), e[1])
        return tuple(kept.values())

    def _dedupe(self, events: list[Observation]) -> list[Observation]:
        """``events`` (in time order) without repeats of a (status, time) pair; counts the repeats."""
        kept: dict[tuple[str, int], Observation] = {}
        for e in events:
            kept.setdefault((e[1], e[2]), e)
        self.duplicates += len(events) - len(kept)
        return list(kept.values())

    def _displaced(self, events: list[Observation], start: int) -> None:
        """Count the payment's swap (once) and its late events (events in time order)."""
        tolerance = self.tolerance
        window = self.window
        swapped = False
        late = []
        last = len(events) - 1
        for i, e in enumerate(events):
            ts = e[2]
            arrival = e[3]
            d = arrival - ts
            if d <= 0:
                continue
            if i < last:
                f = events[i + 1]
                f_ts = f[2]
                if (
                    f_ts > ts
                    and -window <= arrival - f_ts <= window
                    and (arrival > f[3] or (self.estimated and 2 * d > f_ts - ts))
                ):
                    swapped = True
                    continue
            if d > tolerance:
                late.append(float(d))
        if swapped:
            self.out_of_order += 1
        if late:
            self.late.offer(late, [start] * len(late))

    def flush(self) -> None:
        """Fold the payments closed since the last flush into the aggregates."""
        for path, rows in self.pending.items():
            self._fold(path, rows)
        self.pending.clear()
        entities = self.entities
        if entities:
            starts = list(map(_ts, entities))
            self.sources.update(map(_source, entities))
            self.destinations.update(map(_destination, entities))
            self.currencies.update(map(_currency, entities))
            amounts = list(map(_amount, entities))
            if None in amounts:
                starts = [s for a, s in zip(amounts, starts) if a is not None]
                amounts = [a for a in amounts if a is not None]
            self.amounts.offer(amounts, starts)
            entities.clear()

    def _fold(self, path: Path, rows: list[list[int]]) -> None:
        """One path's closed payments (their event times) into the counts, bins and sample."""
        store = self.paths.get(path)
        if store is None:
            store = self.paths[path] = Rows(len(path), self.size, self.rng)
        store.offer(rows)
        rows.sort()  # by start: a bin's payments are a slice
        columns = list(zip(*rows))
        starts = columns[0]
        if self.first_ms is None or starts[0] < self.first_ms:
            self.first_ms = starts[0]
        end = max(columns[-1])
        if self.last_ms is None or end > self.last_ms:
            self.last_ms = end
        self.per_hour.update(map(floordiv, starts, repeat(_HOUR_MS)))
        gaps = [list(map(sub, columns[k], columns[k - 1])) for k in range(1, len(path))]
        if gaps:
            self.longest_step = max(self.longest_step, *map(max, gaps))
        logs = [list(map(math.log1p, g)) for g in gaps]
        squares = [list(map(mul, lg, lg)) for lg in logs]
        keys = list(map(floordiv, starts, repeat(self.bin_ms)))
        bins = self.bins
        i = 0
        n = len(keys)
        while i < n:
            key = keys[i]
            j = bisect_right(keys, key, i)
            bin_ = bins.get(key)
            if bin_ is None:
                bin_ = bins[key] = ({}, {})
            bin_paths, delays = bin_
            bin_paths[path] = bin_paths.get(path, 0) + j - i
            for k in range(1, len(path)):
                acc = delays.get(path[k])
                if acc is None:
                    acc = delays[path[k]] = [0, 0.0, 0.0]
                acc[0] += j - i
                acc[1] += sum(logs[k - 1][i:j])
                acc[2] += sum(squares[k - 1][i:j])
            i = j

    def steps(self) -> tuple[dict[tuple[Path, int], Sample], dict[tuple[Path, int], Sample]]:
        """The samples of each step's gap and offset, from the paths' sampled payments."""
        gaps: dict[tuple[Path, int], Sample] = {}
        offsets: dict[tuple[Path, int], Sample] = {}
        for path, rows in self.paths.items():
            columns = [rows.column(k) for k in range(len(path))]
            starts = columns[0]
            for k in range(1, len(path)):
                gaps[(path, k)] = Sample(rows.seen, tuple(map(float, map(sub, columns[k], columns[k - 1]))), starts)
                offsets[(path, k)] = Sample(rows.seen, tuple(map(float, map(sub, columns[k], starts))), starts)
        return gaps, offsets


def _first_carrying(events: list[Observation]) -> Observation:
    """The first event (in time) with the banks, amount and currency each of the first carrying it."""
    source = destination = currency = None
    amount = None
    for e in events:
        source = e[4] if source is None else source
        destination = e[5] if destination is None else destination
        amount = e[6] if amount is None else amount
        currency = e[7] if currency is None else currency
    return events[0]._replace(source=source, destination=destination, amount=amount, currency=currency)


def profile(
    observations: Iterable[Observation],
    names: tuple[str, ...],
    record_timestamps: bool,
    options: ProfilerOptions = ProfilerOptions(),
) -> Profile:
    """Fold ``observations`` (in non-decreasing arrival order) into a profile of ``names``."""
    agg = _Aggregates(options, record_timestamps)
    floor, crowded, crowded_floor = options.horizon_ms, options.crowded, options.crowded_horizon_ms
    ceiling = options.horizon_max_ms
    factor = options.horizon_factor
    tolerance = options.lateness_ms
    open_: dict[str, list[Observation]] = {}
    # (arrival, payment) per event read, in arrival order: a payment is idle for as long as
    # its last entry is old; its earlier entries are stale and skipped (cheaper than moving
    # the payment's one entry on each event).
    queue: deque[tuple[int, list[Observation]]] = deque()
    enqueue = queue.append
    recent: dict[str, int] = {}  # closed ids (this generation) -> last arrival; -1 once split
    older: dict[str, int] = {}  # the generation before
    rotate_at = _NEVER  # the first sweep sets it
    longest = 0  # the longest payment closed, first to last arrival (ms)
    horizon = floor
    due = _NEVER  # the first due in the queue
    left_out = 0  # events of split payments after their first part closed
    split = 0
    get = open_.get
    previous_start: int | None = None  # Welford's running moments of the gaps between starts
    gaps = 0
    mean = 0.0
    m2 = 0.0
    for obs in observations:
        arrival = obs[3]
        payment = get(obs[0])
        if payment is not None:
            payment.append(obs)
            enqueue((arrival, payment))
            if arrival >= due:
                due, horizon, rotate_at, recent, older, longest = _sweep(
                    arrival, open_, queue, agg, recent, older, rotate_at, longest, (floor, ceiling, factor)
                )
            continue
        pid = obs[0]
        closed = recent.get(pid)
        if closed is None:
            closed = older.get(pid)
        if closed is not None:
            left_out += 1
            if closed >= 0:
                split += 1
                longest = max(longest, arrival - closed)
                recent[pid] = -1
            continue
        payment = open_[pid] = [obs]
        enqueue((arrival, payment))
        if len(open_) > crowded and floor > crowded_floor:
            floor = crowded_floor  # for the rest of the pass: a dense stream stays dense
            due = arrival  # sweep now, with the shorter horizon
        ts = obs[2]
        if arrival - ts <= tolerance:
            if previous_start is not None:
                gaps += 1
                x = ts - previous_start
                delta = x - mean
                mean += delta / gaps
                m2 += delta * (x - mean)
            previous_start = ts
        if arrival >= due:
            due, horizon, rotate_at, recent, older, longest = _sweep(
                arrival, open_, queue, agg, recent, older, rotate_at, longest, (floor, ceiling, factor)
            )
        elif due == _NEVER:
            due = arrival + horizon + 1
    agg.flush()
    open_at_end = _close_all(agg, open_)
    agg.flush()
    arrivals = Arrivals(gaps, mean, m2 / (gaps - 1) if gaps > 1 else 0.0, dict(agg.per_hour))
    return _profile(agg, names, record_timestamps, open_at_end, split, agg.events + left_out, arrivals)


def _sweep(
    arrival: int,
    open_: dict[str, list[Observation]],
    queue: deque[tuple[int, list[Observation]]],
    agg: _Aggregates,
    recent: dict[str, int],
    older: dict[str, int],
    rotate_at: int,
    longest: int,
    bounds: tuple[int, int, float],
) -> tuple[int, int, int, dict[str, int], dict[str, int], int]:
    """Close what has been idle for the horizon; look again later at what has not.

    ``bounds``: the horizon's floor and ceiling (ms) and its factor over ``longest``.
    """
    floor, ceiling, factor = bounds
    horizon = min(ceiling, max(floor, int(factor * longest)))
    rotate_at = min(rotate_at, arrival + horizon)  # a horizon grown shorter keeps fewer closed ids too
    if arrival >= rotate_at:
        older = recent
        recent = {}
        rotate_at = arrival + horizon
    done = []
    popleft = queue.popleft
    while queue and queue[0][0] + horizon < arrival:
        seen, payment = popleft()
        if payment[-1][3] > seen:
            continue  # seen again since: a stale entry
        pid = payment[0][0]
        if open_.pop(pid, None) is None:
            continue  # closed already (two events arrived at once)
        recent[pid] = seen
        span = seen - payment[0][3]
        if span > longest:
            longest = span
        done.append(payment)
    agg.close(done)
    # Closing a little later costs little memory and saves sweeps: one per many payments.
    due = queue[0][0] + horizon + 1 + horizon // 64 if queue else _NEVER
    return due, horizon, rotate_at, recent, older, longest


def _close_all(agg: _Aggregates, open_: dict[str, list[Observation]]) -> int:
    """Close every payment still open at the end of the input; return how many were left out as cut."""
    if not open_:
        return 0
    watermark = max(p[-1][3] for p in open_.values())
    ends = [(payment, agg.path_of(payment)) for payment in open_.values()]
    # Against every path seen, the open payments' too: a cut payment is a prefix of what
    # payments like it became.
    prefixes = {path[:k] for path in (*agg.paths, *(path for _, path in ends)) for k in range(1, len(path))}
    near = max(agg.longest_step, *(_longest_step(payment) for payment, _ in ends))
    cut = 0
    for payment, path in ends:
        if watermark - payment[-1][3] <= near and path in prefixes:
            cut += 1
            agg.events += len(payment)
            continue
        agg.close([payment])
    return cut


def _longest_step(events: list[Observation]) -> int:
    times = sorted(map(_ts, events))
    return max(map(sub, times[1:], times), default=0)


def _profile(
    agg: _Aggregates,
    names: tuple[str, ...],
    record_timestamps: bool,
    open_at_end: int,
    split: int,
    events: int,
    arrivals: Arrivals,
) -> Profile:
    gaps, offsets = agg.steps()
    return Profile(
        sources=names,
        events=events,
        payments=sum(rows.seen for rows in agg.paths.values()),
        open_at_end=open_at_end,
        first_ms=agg.first_ms if agg.first_ms is not None else 0,
        last_ms=agg.last_ms if agg.last_ms is not None else 0,
        record_timestamps=record_timestamps,
        paths={path: rows.seen for path, rows in agg.paths.items()},
        gaps=gaps,
        offsets=offsets,
        bin_ms=agg.bin_ms,
        bins={
            b: Bin(paths, {status: (int(c), s, s2) for status, (c, s, s2) in delays.items()})
            for b, (paths, delays) in sorted(agg.bins.items())
        },
        arrivals=arrivals,
        sources_seen={k: v for k, v in agg.sources.items() if k is not None},
        destinations_seen={k: v for k, v in agg.destinations.items() if k is not None},
        amounts=agg.amounts.sample() if agg.amounts.seen else None,
        currencies={k: v for k, v in agg.currencies.items() if k is not None},
        anomalies=Anomalies(events, agg.duplicates, agg.late.sample(), agg.out_of_order),
        split=split,
    )
