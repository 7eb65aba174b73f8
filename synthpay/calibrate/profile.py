"""What one pass over a source knows: counts and bounded samples, never every event.

A :class:`Profile` is the seam between reading (``profiler``) and judging (``fit``,
``compare``). It holds parameters and counts, and bank names and currency codes only as
keys of counters the fit reduces to numbers: nothing in it is written out as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: A payment's statuses in event-time order (ties in arrival order), duplicates dropped.
Path = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Sample:
    """A uniform sample of values (a reservoir), each with the start of the payment it came from.

    ``seen`` counts every value offered; ``values`` holds at most the reservoir's size of
    them, ``starts_ms[i]`` the start (first event time) of the payment ``values[i]`` came
    from, so a fit can leave out the values of an incident's window.
    """

    seen: int
    values: tuple[float, ...]
    starts_ms: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Bin:
    """The payments that started in one time bin (``Profile.bin_ms`` wide)."""

    paths: Mapping[Path, int]  # payments started, per path
    #: Per status, over the delays (gap since the step before) of the payments started in
    #: the bin: (count, sum of ln(1 + ms), sum of ln(1 + ms) squared).
    delays: Mapping[str, tuple[int, float, float]]


@dataclass(frozen=True, slots=True)
class Arrivals:
    """When payments started (a payment's start is its first event's time)."""

    #: Gaps between consecutive starts, in arrival order: count, mean and variance (ms).
    gaps: int
    gap_mean_ms: float
    gap_variance_ms2: float
    #: Payments started per whole hour since the epoch (UTC).
    per_hour: Mapping[int, int]


@dataclass(frozen=True, slots=True)
class Anomalies:
    """Dirty data seen while reading: the evidence, counted."""

    events: int  # payment events read, duplicates included
    duplicates: int  # events that repeat an event already read (same payment, status and time)
    #: Events that arrived more than the lateness tolerance after their own time and were not
    #: out of order, with how late each was (ms).
    late: Sample
    #: Payments one of whose events arrived after a later status of the same payment, just
    #: after it (a swap: the held-back event follows the later one).
    out_of_order: int


@dataclass(frozen=True, slots=True)
class Profile:
    """One pass over one or more sources."""

    sources: tuple[str, ...]  # what was read, as the user named it
    events: int  # payment status events read
    payments: int  # payments whose path ended (counted in ``paths``)
    #: Payments left out: still open when the input ended (their path a strict prefix of a
    #: longer path seen), or with a single event seen only as a repeat.
    open_at_end: int
    first_ms: int  # earliest event time read
    last_ms: int  # latest event time read
    #: True when arrival times are record timestamps; False when estimated from the order
    #: of a file or partition (then lateness is measured against that estimate).
    record_timestamps: bool
    paths: Mapping[Path, int]  # payments per path
    #: Per (path, step k >= 1): ts[k] - ts[k - 1] in ms. The samples of one path's steps
    #: come from the same payments, in the same order: ``values[i]`` of every step of a path
    #: is payment i's (what parallel timing measures from the workflow's first step relies on).
    gaps: Mapping[tuple[Path, int], Sample]
    #: Per (path, step k >= 1): ts[k] - ts[0] in ms (what parallel timing draws, less the first step's delay).
    offsets: Mapping[tuple[Path, int], Sample]
    bin_ms: int
    bins: Mapping[int, Bin]  # by start_ms // bin_ms
    arrivals: Arrivals
    sources_seen: Mapping[str, int]  # payments per source bank (empty when the input has none)
    destinations_seen: Mapping[str, int]  # payments per destination bank
    amounts: Sample | None  # one per payment; None when the input has no amounts
    currencies: Mapping[str, int]  # payments per currency code
    anomalies: Anomalies
    #: Payments an idle gap longer than the profiler's horizon split: counted in ``paths``
    #: by their first part, their later events left out (the profiler's limit, not the data's).
    split: int = 0
