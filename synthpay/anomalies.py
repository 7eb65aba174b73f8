"""Dirty data on purpose: payment events late, duplicated, swapped or missing, each labelled.

The scheduler hands every payment event to :meth:`Injector.emit` instead of its buffer when
``[anomalies]`` is set (a default run has no injector and draws nothing for it). Each kind
draws from its own RNG stream, derived from the run's seed like the scheduler's, and a
kind's draws depend only on how many events (or payments) came before, so turning one kind
on or changing its rate moves no other kind's picks and nothing else of the run.

Which events a kind befalls is drawn as the geometric gap to the next one: one draw per
injected event instead of one per event, so a run at a low rate costs little more than a
clean one. Events are counted in emission order, which a seeded virtual-clock run fixes.

- late: the event keeps its ``ts`` and is emitted ``late_delay`` later; the Kafka record
  timestamp is the emission time, which is what makes it late for a watermark.
- duplicate: emitted, then emitted again ``duplicate_delay`` later, byte-identical in key
  and value (a late event's copy follows the late emission).
- out_of_order: per payment, one pair of consecutive statuses is emitted swapped: the
  earlier one is held back and emitted right after the later one. Both records are labelled.
- missing: an event after the payment's first is never emitted; the payment goes on.

An event picked by more than one kind takes, in order: the swap, missing, then late and
duplicate together. A kind's ``candidates`` count only the events it could befall, so the
realized rate ``injected / candidates`` is a binomial sample of its probability.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, MutableMapping
from typing import Final

from synthpay.entities import Payment
from synthpay.events import Event, Topic
from synthpay.settings import AnomalySettings
from synthpay.summary import AnomalyReport

#: The kinds labelled on a record (the ``anomaly`` header), then the one that leaves no record.
LABELLED: Final = ("late", "duplicate", "out_of_order")
KINDS: Final = (*LABELLED, "missing")
#: The most missing payment ids a summary lists (per run; the counts are always complete).
MISSING_IDS_CAP: Final = 10_000


class Injected(Payment):
    """A payment event emitted at a time other than its own, with the anomaly it carries.

    The :class:`Event` holding it has the emission time as ``ts_ms`` (the Kafka record
    timestamp); the value is encoded with ``event_ts_ms``, so every sink writes the event
    time into ``ts`` and a duplicate's value is the original's, byte for byte.
    """

    __slots__ = ("event_ts_ms", "anomaly")

    def __init__(self, payment: Payment, event_ts_ms: int, anomaly: str) -> None:
        self.kafka_key = payment.kafka_key
        self.avro_tail = payment.avro_tail
        self.event_ts_ms = event_ts_ms
        self.anomaly = anomaly  # one of LABELLED: the record's header

    def avro(self, topic: Topic, ts_ms: int) -> bytes:
        """The event's Avro binary, stamped with its own time whatever it is emitted at."""
        return super().avro(topic, self.event_ts_ms)

    def record(self, topic: Topic, ts_ms: int) -> dict[str, object]:
        """The event as a dict, stamped with its own time."""
        return super().record(topic, self.event_ts_ms)


class _Picks:
    """The indices a kind befalls: a Bernoulli trial per index, drawn as geometric gaps."""

    __slots__ = ("next", "_rng", "_log_miss")

    def __init__(self, probability: float, rng: random.Random) -> None:
        self._rng = rng
        # inf: never (probability 0); 0: every index (probability 1).
        self._log_miss = math.log1p(-probability) if probability < 1 else -math.inf
        self.next = 0.0 if probability > 0 else math.inf
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


class Injector:
    """Decides what befalls each payment event, holds back what comes later, counts it all.

    ``emitted`` is the scheduler's per-topic count (every record appended counts, a
    duplicate too, a missing event not); ``wake`` asks the scheduler to call
    :meth:`release` at a given millisecond.
    """

    def __init__(self, settings: AnomalySettings, stream: str, emitted: MutableMapping[str, int],
                 wake: Callable[[int], None]) -> None:
        rngs = {kind: random.Random(f"{stream}:{kind}") for kind in KINDS}
        self.settings = settings
        self._late = _Picks(settings.late, rngs["late"])
        self._duplicate = _Picks(settings.duplicate, rngs["duplicate"])
        self._missing = _Picks(settings.missing, rngs["missing"])
        self._swap = _Picks(settings.out_of_order, rngs["out_of_order"])
        self._swap_rng = rngs["out_of_order"]
        self._late_rng, self._duplicate_rng = rngs["late"], rngs["duplicate"]
        self._late_delay = settings.late_delay.sampler()
        self._duplicate_delay = settings.duplicate_delay.sampler()
        self._emitted = emitted
        self._wake = wake
        self._seen = 0  # payment events so far: the index the per-event kinds are drawn over
        self._started = 0  # payments so far: the index out_of_order is drawn over
        self._swappable = 0  # payments of two steps or more
        self._paired = [0, 0]  # events of swapped pairs: all, and those after a payment's first
        self._next_pick = min(self._late.next, self._duplicate.next, self._missing.next)
        # Swapped payments: the step to hold back, then the event held back.
        self._swaps: dict[Payment, int | tuple[Topic, Injected]] = {}
        self._later: list[tuple[int, int, Topic, Injected]] = []  # (emission ms, order, ...): a heap
        self._order = 0
        self.injected = dict.fromkeys(KINDS, 0)
        # Per kind and topic: labelled records, and for missing the events never emitted.
        self.by_topic: dict[str, dict[str, int]] = {kind: {} for kind in KINDS}
        self.missing: dict[str, int] = {}
        self.missing_ids: dict[str, list[str]] = {}
        self.missing_ts: dict[str, list[int]] = {}  # beside each listed id, the ts its event would have had
        self._missing_listed = 0

    @property
    def pending(self) -> int:
        """Events held back for later emission (the run is not over while there are any)."""
        return len(self._later)

    def emit(self, buffer: list[Event], topic: Topic, due: int, payment: Payment, step: int, steps: int) -> None:
        """Emit step ``step`` (of ``steps``) of ``payment``, due at ``due``, or not, or not yet."""
        self._seen += 1
        if not step:
            self._started += 1
            self._swappable += steps > 1
            if self._started >= self._swap.next:
                self._plan_swap(payment, steps)
        swaps = self._swaps
        if swaps and payment in swaps and self._swapped(buffer, topic, due, payment, step):
            return
        if self._seen >= self._next_pick:
            self._picked(buffer, topic, due, payment, step)
        else:
            buffer.append(Event(topic, due, payment))
            self._emitted[topic.name] += 1

    def release(self, buffer: list[Event], now: int) -> None:
        """Emit every held-back event due by ``now``, stamped with the time it is emitted at."""
        later = self._later
        while later and later[0][0] <= now:
            at_ms, _, topic, injected = heapq.heappop(later)
            self._append(buffer, Event(topic, at_ms, injected))

    def report(self) -> AnomalyReport:
        """What was injected, for the summary."""
        s = self.settings
        return AnomalyReport(
            rates={"late": s.late, "duplicate": s.duplicate, "out_of_order": s.out_of_order, "missing": s.missing},
            candidates=self._candidates(),
            injected=dict(self.injected),
            by_topic={kind: dict(sorted(topics.items())) for kind, topics in self.by_topic.items()},
            missing=dict(self.missing),
            missing_ids={status: tuple(ids) for status, ids in self.missing_ids.items()},
            missing_ts={status: tuple(times) for status, times in self.missing_ts.items()},
        )

    # -- the kinds

    def _plan_swap(self, payment: Payment, steps: int) -> None:
        self._swap.advance()
        if steps < 2:
            return
        self.injected["out_of_order"] += 1
        self._swaps[payment] = int(self._swap_rng.random() * (steps - 1))

    def _candidates(self) -> dict[str, int]:
        """The events (payments for out_of_order) each kind could befall: a swapped pair takes no other kind."""
        every, later = self._seen - self._paired[0], self._seen - self._started - self._paired[1]
        others = every - self.injected["missing"]
        return {"late": others, "duplicate": others, "out_of_order": self._swappable, "missing": later}

    def _swapped(self, buffer: list[Event], topic: Topic, due: int, payment: Payment, step: int) -> bool:
        """Hold back the first of a swapped pair, emit both after the second; False for any other step."""
        planned = self._swaps[payment]
        if isinstance(planned, int):
            if step != planned:
                return False
            self._swaps[payment] = (topic, Injected(payment, due, "out_of_order"))
        else:
            del self._swaps[payment]
            self._append(buffer, Event(topic, due, Injected(payment, due, "out_of_order")))
            self._append(buffer, Event(planned[0], due, planned[1]))
        self._skip_picks()
        self._paired[0] += 1
        self._paired[1] += step > 0
        return True

    def _skip_picks(self) -> None:
        """Move every per-event kind past the current event, whether it took its pick or not."""
        seen = self._seen
        for picks in (self._late, self._duplicate, self._missing):
            if picks.next <= seen:
                picks.advance()
        self._next_pick = min(self._late.next, self._duplicate.next, self._missing.next)

    def _picked(self, buffer: list[Event], topic: Topic, due: int, payment: Payment, step: int) -> None:
        """An event that at least one per-event kind picked."""
        seen = self._seen
        late, duplicate, missing = (picks.next <= seen for picks in (self._late, self._duplicate, self._missing))
        self._skip_picks()
        injected = self.injected
        if step and missing:
            injected["missing"] += 1
            self._record_missing(topic, due, payment)
            return
        emitted_at = due
        if late:
            injected["late"] += 1
            emitted_at = due + self._late_delay(self._late_rng)
            self._hold(emitted_at, topic, Injected(payment, due, "late"))
        else:
            buffer.append(Event(topic, due, payment))
            self._emitted[topic.name] += 1
        if duplicate:
            injected["duplicate"] += 1
            self._hold(emitted_at + self._duplicate_delay(self._duplicate_rng), topic,
                       Injected(payment, due, "duplicate"))

    def _record_missing(self, topic: Topic, due: int, payment: Payment) -> None:
        self.missing[topic.status] = self.missing.get(topic.status, 0) + 1
        counts = self.by_topic["missing"]
        counts[topic.name] = counts.get(topic.name, 0) + 1
        if self._missing_listed < MISSING_IDS_CAP:
            self._missing_listed += 1
            self.missing_ids.setdefault(topic.status, []).append(payment.id)
            self.missing_ts.setdefault(topic.status, []).append(due)

    # -- emission

    def _hold(self, at_ms: int, topic: Topic, injected: Injected) -> None:
        self._order += 1
        heapq.heappush(self._later, (at_ms, self._order, topic, injected))
        self._wake(at_ms)

    def _append(self, buffer: list[Event], event: Event) -> None:
        """Emit an injected event and count it under its kind and topic."""
        buffer.append(event)
        name = event.topic.name
        self._emitted[name] += 1
        counts = self.by_topic[event.entity.anomaly]  # type: ignore[union-attr]
        counts[name] = counts.get(name, 0) + 1
