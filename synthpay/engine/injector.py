"""Dirty data on purpose: payment events late, duplicated, swapped or missing, each labelled.

With ``[anomalies]`` set the scheduler asks an :class:`Injector` how many events to emit
as usual before the next one something befalls, and hands it that one (a default run has
no injector and draws nothing for it). Each kind draws from its own RNG stream, derived
from the run's seed like the scheduler's, as the geometric gap to the next event index it
picks: one draw per injected event rather than one per event, and a kind's picks depend
only on the index, so turning one kind on or changing its rate moves no other kind's
picks and nothing else of the run. Events are indexed in emission order, which a seeded
virtual-clock run fixes.

- late: the event keeps its ``ts`` and is emitted ``late_delay`` later; the Kafka record
  timestamp is the emission time, which is what makes it late for a watermark.
- duplicate: emitted, then emitted again ``duplicate_delay`` later, byte-identical in key
  and value (a late event's copy follows the late emission).
- out_of_order: picked on a payment's first event; one pair of consecutive steps j, j + 1
  is drawn and step j is held back and emitted 1 ms after step j + 1, keeping its ``ts``:
  its record timestamp is after the later status's. The held-back record is labelled.
- missing: an event after the payment's first is never emitted; the payment goes on.

What is not emitted is written to the ground-truth topic instead (``Withheld``, as the
event would have been), as it happens: a missing event when it is dropped, and the
held-back events a stop cuts before they fall due (:meth:`Injector.cut`), so a reader
can account for every event of a run of any length without the summary listing them.

A phase may override the rates: the scheduler says when one begins or ends (a wheel tick,
not a step per event), and each kind whose rate changes draws its next pick afresh from
there. out_of_order goes by the phase its payment started in instead, by thinning.

An event picked by more than one kind takes, in order: the swap, missing, then late and
duplicate together. The report's candidates count only the events each kind could
befall, so the realized rate ``injected / candidates`` is a binomial sample of its
probability.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import random
from collections.abc import Callable, MutableMapping, Sequence
from typing import Final, Protocol

from synthpay.config.settings import AnomalySettings
from synthpay.model.anomalies import KINDS, Encoded, Injected, Withheld
from synthpay.model.events import Event, Topic
from synthpay.model.reports import AnomalyReport, PhaseAnomalies
from synthpay.model.timeline import Phase

# Builds an Event without NamedTuple's generated __new__, as the scheduler does.
_new_event: Final = tuple.__new__
#: The most missing payment ids a summary lists (per run; the counts are always complete).
MISSING_IDS_CAP: Final = 10_000


class _Picks:
    """The indices a kind befalls: a Bernoulli trial per index, drawn as geometric gaps."""

    __slots__ = ("_log_miss", "_rng", "next")

    def __init__(self, probability: float, rng: random.Random) -> None:
        self._rng = rng
        self.restart(probability, 0)

    def restart(self, probability: float, index: int) -> None:
        """Draw the picks after ``index`` afresh, at ``probability``.

        Exact at a change of rate: Bernoulli trials are memoryless, so what was drawn for
        the indices after ``index`` at the old rate says nothing about them at the new.
        """
        # inf: never (probability 0); 0: every index (probability 1).
        self._log_miss = math.log1p(-probability) if probability < 1 else -math.inf
        self.next = float(index) if probability > 0 else math.inf
        self.advance()

    def advance(self) -> None:
        """Move to the next index picked."""
        if self.next == math.inf:
            return
        if self._log_miss == -math.inf:
            self.next += 1
            return
        # floor(log U / log(1-p)) misses before the next hit; 1 - random() is in (0, 1].
        self.next += math.floor(math.log(1.0 - self._rng.random()) / self._log_miss) + 1


class Flight(Protocol):
    """A payment in flight as the injector sees it: the scheduler's, whose route it may shorten."""

    kafka_key: bytes
    avro_tail: bytes
    gaps: tuple[int, ...]  # from the step before (the first: from the start)
    topics: tuple[Topic, ...]

    @property
    def id(self) -> str: ...


class Injector:
    """Decides what befalls each payment event, holds back what comes later, counts it all.

    Every kind is drawn over the index of the events the scheduler emits, out_of_order
    taking only a payment's first event (so its probability is per payment). Between picks
    the scheduler emits events itself: :meth:`emit` is called for a picked event only and
    says how many to let pass before the next. ``emitted`` is the scheduler's per-topic
    count (every record appended counts, a duplicate too, a missing event not); ``wake``
    asks the scheduler to call :meth:`release` at a given millisecond.
    """

    def __init__(
        self,
        settings: AnomalySettings,
        stream: str,
        emitted: MutableMapping[str, int],
        wake: Callable[[int], None],
        ground_truth: Topic,
        phases: Sequence[Phase] = (),
    ) -> None:
        rngs = {kind: random.Random(f"{stream}:{kind}") for kind in KINDS}
        self.settings = settings
        run = {kind: float(getattr(settings, kind)) for kind in KINDS}
        # Per regime: the run's rates outside every phase (0), then phase i's (i + 1).
        self._names = ("", *(phase.name for phase in phases))
        self._rates = (run, *({**run, **(phase.anomalies or {})} for phase in phases))
        self._regime_of = {name: i for i, name in enumerate(self._names)}
        self._regime = 0  # the regime in force, as the scheduler last said (see enter)
        # out_of_order follows a payment's start phase, not the time: picks at the highest
        # of its rates, each kept at the payment's rate over that one (thinning, exact too).
        swap_rate = max(rates["out_of_order"] for rates in self._rates)
        self._swap_keep = (
            tuple(rates["out_of_order"] / swap_rate for rates in self._rates)
            if any(rates["out_of_order"] != swap_rate for rates in self._rates)
            else None
        )
        self._late, self._late_rng = _Picks(settings.late, rngs["late"]), rngs["late"]
        self._duplicate, self._duplicate_rng = _Picks(settings.duplicate, rngs["duplicate"]), rngs["duplicate"]
        self._missing = _Picks(settings.missing, rngs["missing"])
        self._swap, self._swap_rng = _Picks(swap_rate, rngs["out_of_order"]), rngs["out_of_order"]
        self._late_delay = settings.late_delay.table().draw
        self._duplicate_delay = settings.duplicate_delay.table().draw
        self._emitted = emitted
        self._wake = wake
        self._seen = 0  # index of the last event handed to emit (1 = the run's first payment event)
        self._gap_given = 0  # the gap emit (or first, or enter) last returned
        regimes = len(self._names)
        self._counts = [dict.fromkeys(KINDS, 0) for _ in range(regimes)]  # injected, per regime
        self._taken = [0] * regimes  # picked events a swap or missing took, so late and duplicate could not
        # Per regime: events offered (indices) and first events, over the stretches it was in
        # force before the current one; and where the current stretch began.
        self._offered = [0] * regimes
        self._firsts = [0] * regimes
        self._entered = (0, 0)  # (index, first events) when the current regime came into force
        self._bypassed = 0  # held-back halves of swaps that never reached the scheduler's emit
        self._later: list[tuple[int, int, Topic, Injected]] = []  # (emission ms, order, ...): a heap
        self._ground_truth = ground_truth
        self._withheld_topics: dict[Topic, Topic] = {}  # per payment topic, its events' ground-truth topic
        self._cut = dict.fromkeys(KINDS[:-1], 0)  # held-back events a stop cut, per kind
        self._order = 0
        # Per kind and topic: labelled records, and for missing the events never emitted.
        self.by_topic: dict[str, dict[str, int]] = {kind: {} for kind in KINDS}
        self.missing: dict[str, int] = {}
        self.missing_ids: dict[str, list[str]] = {}
        self.missing_ts: dict[str, list[int]] = {}  # beside each listed id, the ts its event would have had
        self._missing_listed = 0

    @property
    def injected(self) -> dict[str, int]:
        """Events injected so far, per kind."""
        return {kind: sum(counts[kind] for counts in self._counts) for kind in KINDS}

    @property
    def ground_truth(self) -> str:
        """The ground-truth topic's name: its records are no payment topic's."""
        return self._ground_truth.name

    @property
    def pending(self) -> int:
        """Events held back for later emission (the run is not over while there are any)."""
        return len(self._later)

    def first(self) -> int:
        """How many events the scheduler emits before the first it hands to :meth:`emit`."""
        return self._gap()

    def emit(self, buffer: list[Event], topic: Topic, due: int, flight: Flight, step: int) -> int:
        """Emit ``flight``'s step ``step``, due at ``due``, or not, or not yet; return the next gap."""
        seen = self._seen = self._next_index()
        swap = self._swap.next <= seen
        late, duplicate, missing = (self._late.next <= seen, self._duplicate.next <= seen, self._missing.next <= seen)
        for picks in (self._late, self._duplicate, self._missing, self._swap):
            if picks.next <= seen:
                picks.advance()
        if (
            swap
            and not step
            and len(flight.gaps) > 1
            and self._keeps_swap(flight)
            and self._plan_swap(topic, due, flight)
        ):
            self._taken[self._regime] += 1
        elif step and missing:
            self._taken[self._regime] += 1
            self._counts[self._regime]["missing"] += 1
            self._record_missing(buffer, topic, due, flight)
        else:
            self._late_or_duplicate(buffer, topic, due, flight, late, duplicate)
        return self._gap()

    def enter(self, regime: int, quiet: int, firsts: int) -> int:
        """Phase ``regime`` (0: outside every phase) is now in force; return the next gap.

        ``quiet`` is the scheduler's countdown to the next pick and ``firsts`` the first
        events of payments it has emitted so far: with them the events of each phase are
        counted without a step per event. Every kind whose rate changes draws its next
        pick afresh from here (out_of_order goes by the payment, see __init__).
        """
        index = self._seen + self._gap_given - quiet  # the last event emitted so far
        was = self._regime
        self._offered[was] += index - self._entered[0]
        self._firsts[was] += firsts - self._entered[1]
        self._entered, self._regime, self._seen = (index, firsts), regime, index
        before, after = self._rates[was], self._rates[regime]
        for kind, picks in (("late", self._late), ("duplicate", self._duplicate), ("missing", self._missing)):
            if after[kind] != before[kind]:
                picks.restart(after[kind], index)
        return self._gap()

    def release(self, buffer: list[Event], now: int) -> None:
        """Emit every held-back event due by ``now``, stamped with the time it is emitted at."""
        later = self._later
        while later and later[0][0] <= now:
            at_ms, _, topic, injected = heapq.heappop(later)
            self._append(buffer, Event(topic, at_ms, injected))

    def cut(self, buffer: list[Event]) -> None:
        """Write every event still held back to the ground truth, as cut by the stop, and count it."""
        later, self._later = self._later, []
        for _, _, topic, injected in sorted(later):
            self._cut[injected.anomaly] += 1
            self._withhold(buffer, topic, injected.event_ts_ms, injected, injected.anomaly, cut=True)

    def report(self, payment_records: int, started: int, swappable: Sequence[int]) -> AnomalyReport:
        """What was injected, for the summary.

        ``payment_records`` is what the scheduler emitted on payment topics, ``started`` the
        payments it started and ``swappable`` those with two steps or more (per phase they
        started in, outside every phase first, when there are phases): with them the events
        each kind was drawn for (its candidates) follow.
        """
        injected = self.injected
        duplicates = sum(self.by_topic["duplicate"].values())
        # A cut copy was never drawn for; a cut late or swapped event was, and never emitted.
        cut = self._cut["late"] + self._cut["out_of_order"]
        offered = payment_records - duplicates - self._bypassed + injected["missing"] + len(self._later) + cut
        return AnomalyReport(
            rates=dict(self._rates[0]),
            candidates=_candidates(offered, sum(self._taken), offered - started, sum(swappable)),
            injected=injected,
            by_topic={kind: dict(sorted(topics.items())) for kind, topics in self.by_topic.items()},
            missing=dict(self.missing),
            missing_ids={status: tuple(ids) for status, ids in self.missing_ids.items()},
            missing_ts={status: tuple(times) for status, times in self.missing_ts.items()},
            phases=self._phase_reports(offered, started, swappable) if len(self._names) > 1 else (),
            cut={kind: n for kind, n in self._cut.items() if n},
        )

    def _phase_reports(self, offered: int, started: int, swappable: Sequence[int]) -> tuple[PhaseAnomalies, ...]:
        """Per regime, its rates, candidates and injected; the one in force now runs to the end."""
        offers, firsts = list(self._offered), list(self._firsts)
        offers[self._regime] += offered - self._entered[0]
        firsts[self._regime] += started - self._entered[1]
        return tuple(
            PhaseAnomalies(
                name,
                dict(rates),
                _candidates(offers[i], self._taken[i], offers[i] - firsts[i], swappable[i]),
                dict(self._counts[i]),
            )
            for i, (name, rates) in enumerate(zip(self._names, self._rates))
        )

    # -- the kinds

    def _next_index(self) -> int:
        return int(min(self._late.next, self._duplicate.next, self._missing.next, self._swap.next))

    def _gap(self) -> int:
        """Events to let pass before the next pick (-1: none will come, as good as infinitely many)."""
        following = min(self._late.next, self._duplicate.next, self._missing.next, self._swap.next)
        gap = self._gap_given = -1 if following == math.inf else int(following) - self._seen - 1
        return gap

    def _keeps_swap(self, flight: Flight) -> bool:
        """Whether a swap picked for ``flight`` stands, at the rate of the phase it started in."""
        keep = self._swap_keep
        return keep is None or self._swap_rng.random() < keep[self._regime_of[flight.topics[0].phase]]

    def _plan_swap(self, topic: Topic, due: int, flight: Flight) -> bool:
        """Hold back step j of the payment, j drawn, and emit it right after step j + 1.

        Held back at once when j is this first step; otherwise the flight's route loses step
        j (step j + 1 keeps its time) and the injector emits it itself. True when this very
        event is the one held back.
        """
        gaps, topics = flight.gaps, flight.topics
        j = int(self._swap_rng.random() * (len(gaps) - 1))
        self._counts[self._regime_of[topics[0].phase]]["out_of_order"] += 1
        due_j = due + sum(gaps[1 : j + 1])
        after = due_j + gaps[j + 1] + 1  # the ms after step j + 1 is emitted
        self._hold(after, topics[j], Injected(flight, due_j, "out_of_order"))
        if not j:
            return True
        self._bypassed += 1
        flight.gaps = (*gaps[:j], gaps[j] + gaps[j + 1], *gaps[j + 2 :])
        flight.topics = (*topics[:j], *topics[j + 1 :])
        return False

    def _late_or_duplicate(
        self, buffer: list[Event], topic: Topic, due: int, payment: Flight, late: bool, duplicate: bool
    ) -> None:
        emitted_at = due
        if late:
            self._counts[self._regime]["late"] += 1
            emitted_at = due + self._late_delay(self._late_rng)
            self._hold(emitted_at, topic, Injected(payment, due, "late"))
        else:
            buffer.append(_new_event(Event, (topic, due, payment)))
            self._emitted[topic.name] += 1
        if duplicate:
            self._counts[self._regime]["duplicate"] += 1
            self._hold(
                emitted_at + self._duplicate_delay(self._duplicate_rng), topic, Injected(payment, due, "duplicate")
            )

    def _record_missing(self, buffer: list[Event], topic: Topic, due: int, payment: Flight) -> None:
        self.missing[topic.status] = self.missing.get(topic.status, 0) + 1
        counts = self.by_topic["missing"]
        counts[topic.name] = counts.get(topic.name, 0) + 1
        self._withhold(buffer, topic, due, payment, "missing", cut=False)
        if self._missing_listed < MISSING_IDS_CAP:
            self._missing_listed += 1
            self.missing_ids.setdefault(topic.status, []).append(payment.id)
            self.missing_ts.setdefault(topic.status, []).append(due)

    # -- emission

    def _withhold(self, buffer: list[Event], topic: Topic, due: int, payment: Encoded, kind: str, cut: bool) -> None:
        """Write an event not emitted on ``topic`` to the ground truth, stamped with its own time."""
        withheld = self._withheld_topics.get(topic)
        if withheld is None:
            withheld = self._withheld_topics[topic] = dataclasses.replace(
                self._ground_truth, status=topic.status, status_avro=topic.status_avro, phase=topic.phase
            )
        buffer.append(Event(withheld, due, Withheld(payment, due, kind, cut)))
        self._emitted[withheld.name] += 1

    def _hold(self, at_ms: int, topic: Topic, injected: Injected) -> None:
        self._order += 1
        heapq.heappush(self._later, (at_ms, self._order, topic, injected))
        self._wake(at_ms)

    def _append(self, buffer: list[Event], event: Event) -> None:
        """Emit an injected event and count it under its kind and topic."""
        buffer.append(event)
        name = event.topic.name
        self._emitted[name] += 1
        counts = self.by_topic[event.anomaly]
        counts[name] = counts.get(name, 0) + 1


def _candidates(offered: int, taken: int, after_first: int, swappable: int) -> dict[str, int]:
    """The events each kind was drawn for, in the order of KINDS."""
    return {"late": offered - taken, "duplicate": offered - taken, "out_of_order": swappable, "missing": after_first}
