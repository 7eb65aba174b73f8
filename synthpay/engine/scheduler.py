"""The worker: drives every payment in flight from one timing wheel.

A Trio task per payment costs far more memory and time than an entry in a bucket
(docs/explanation/architecture.md: a wheel entry per payment trades Trio's per-task
bookkeeping for one dict entry and list append per step). Here one task
keeps every payment in flight in buckets keyed by the millisecond its next step is due
(plus a heap of those milliseconds): it sleeps until the earliest one, then emits every
step that is due. Many payments share a millisecond, so a bucket costs one dict entry and
a list append per step instead of a heap operation.

The ``CapacityLimiter`` keeps the original's meaning of NUM_WORKERS: at most that many
payments in flight, each holding one token from its start to its last event. Only this
task takes and returns tokens, so it never waits on the limiter: it reads the tokens
available and starts that many. Arrival ticks (with ``--rate``, from
:mod:`synthpay.engine.arrivals`) and bank updates (:mod:`synthpay.engine.banks`) are entries
in the same wheel, so one task emits everything in time order; that is what makes a seeded
virtual-clock run reproducible to the byte.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections.abc import Callable, Mapping
from typing import Final, NoReturn

import trio

from synthpay.config.clocks import profile
from synthpay.config.settings import Settings
from synthpay.engine import reporting
from synthpay.engine.arrivals import Arrivals, start_arrivals
from synthpay.engine.banks import Banks
from synthpay.engine.clock import EngineClock, wall_ms
from synthpay.engine.injector import Injector
from synthpay.engine.outbox import Outbox
from synthpay.engine.pacing import Pace
from synthpay.engine.scenario import Route, Scenario, plan
from synthpay.engine.span import hands_over
from synthpay.engine.stats import EngineStats
from synthpay.model import amounts, entities
from synthpay.model.events import Event, Topic
from synthpay.model.reports import AnomalyReport, DelayReport, PhaseReport
from synthpay.model.timeline import Timeline
from synthpay.model.workflow import Mix, emission

# Under the real clock, the most payments started at once (the depth of the pacing bucket):
# events that fell due in the meantime are emitted before the next start.
_ADMIT_CHUNK: Final = 1000
# Under the real clock, a wake that leaves this many events buffered hands them over and
# waits, instead of leaving them to the linger timer: the I/O thread would then write them
# while the engine runs, and the two threads would take turns at the GIL.
_SHIP_NOW: Final = 256
# Under the virtual clock a wake jumps the clock without a trip through the run loop, and
# the loop yields when it ships a batch. Wakes that ship nothing (arrivals while every
# worker is busy, payments with long delays) still yield this often, so signals and other
# tasks get their turn whatever the input.
_WAKES_BETWEEN_YIELDS: Final = 1024
# Under the virtual clock, a stretch with nothing due for more than this many bank-update
# intervals gets no bank updates: event time there would cost records and nothing else.
_QUIET_INTERVALS: Final = 100


class _Flight(entities.Payment):
    """A payment in flight, and which step of which route comes next. Hashable by identity.

    It is the payment its events carry to the sink, which reads only the payment's fields.
    No start time: a route's delays count from the step before, and the wheel knows when
    that was due.
    """

    __slots__ = ("gaps", "step", "topics")

    def __init__(self, kafka_key: bytes, avro_tail: bytes, route: Route) -> None:
        # Payment's fields set here, not through super().__init__: one call less per payment.
        self.kafka_key = kafka_key
        self.avro_tail = avro_tail
        self.gaps, self.topics = route
        self.step = 0


class _Tick:
    """A recurring wheel entry that is not a payment."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


# Builds an Event without NamedTuple's generated __new__ (a Python-level call per event).
new_event: Final = tuple.__new__

_BANK_UPDATE: Final = _Tick("bank update")
_ARRIVAL: Final = _Tick("arrival")
_RELEASE: Final = _Tick("anomaly release")  # held-back anomalies fall due
_PHASE_EDGE: Final = _Tick("phase edge")  # a phase begins or ends: the injector's rates change


def _no_injector(*_: object) -> NoReturn:
    """Stands in for the injector's methods in a run without one: its countdown never reaches them."""
    raise AssertionError("called the injector of a run without one")


def share(total: int, index: int, count: int) -> int:
    """Instance ``index`` of ``count``'s part of ``total``: parts differ by at most one."""
    return total // count + (1 if index < total % count else 0)


class Scheduler:
    """Admits payments under the limiter and emits their events when due: the wheel and admission.

    It drives the units that do the rest: when payments arrive (:mod:`~synthpay.engine.arrivals`),
    the banks (:mod:`~synthpay.engine.banks`), the injector, and the summary's rows
    (:mod:`~synthpay.engine.reporting`).
    """

    def __init__(
        self,
        settings: Settings,
        clock: EngineClock,
        outbox: Outbox,
        stats: EngineStats,
        topics: Mapping[str, Topic],
        banks_topic: Topic,
        seed: int,
        ground_truth: Topic | None = None,
    ) -> None:
        run = settings.run
        self._settings = settings
        self._clock = clock
        self._outbox = outbox
        self._stats = stats
        self._pick = Mix(settings.workflows, settings.statuses, settings.timing).pick
        # Per workflow: its route, so emitting needs no lookups.
        self._routes: list[Route] = [
            emission([settings.statuses[s].delay_ms for s in wf.steps], [topics[s] for s in wf.steps], settings.timing)
            for wf in settings.workflows
        ]
        self._labels = [wf.label for wf in settings.workflows]
        # Chosen once: with no [amounts], the original's function, and no branch per payment.
        self._new_fields = amounts.payment_fields(settings.amounts.distribution, settings.amounts.currencies)
        instance = f"{seed}:{run.instance_index}"
        self._rng = random.Random(f"{instance}:payments")
        self._banks = Banks(settings.entities, random.Random(f"{instance}:banks"), outbox, stats, banks_topic)
        self._arrivals: Arrivals | None = None  # with --rate, from the start of the run
        self._tag = run.instance_index if run.instance_count > 1 else None
        self._target = share(run.payments, run.instance_index, run.instance_count) if run.payments else 0
        self.limiter = trio.CapacityLimiter(run.workers)
        self._workers = run.workers  # the limiter's total_tokens, as an int
        self._times: list[int] = []  # heap of the milliseconds that have a bucket
        self._buckets: dict[int, list[_Flight | _Tick]] = {}
        self._stop_at = math.inf
        self._pace = None if clock.virtual else Pace(_ADMIT_CHUNK)
        self.admitting = True
        #: A backfill that goes on live when its event time reaches now (see engine.span).
        self.hands_over = hands_over(settings)
        #: Event time at which the run went live (None while it has not, or never does).
        self.live_since_ms: int | None = None
        # Phases, drawn delays and the arrival curve are opt-in: without them there is no
        # scenario, and the default run takes exactly the code path (and draws) it always has.
        self.timeline: Timeline | None = None
        self.scenario: Scenario | None = None
        self._topics = topics
        self._instance = instance
        self._start_ms = 0
        self._admission_ended_ms: int | None = None
        # [anomalies] is opt-in too (in the run or in a phase): without it no event goes
        # through the injector. A run with it has a ground-truth topic (topics_for).
        self._injector = (
            Injector(settings.anomalies, instance, stats.emitted, self._release_at, ground_truth, settings.phases)
            if ground_truth is not None
            else None
        )

    @property
    def phase(self) -> str:
        """The phase in force now, "" outside every phase (or without phases)."""
        return self.timeline.name_at(self._clock.now_ms()) if self.timeline else ""

    @property
    def target_rate(self) -> float:
        """Payments/s this instance aims for now: the timeline's rate at this moment, else the run's share."""
        if self.timeline is not None:
            return self.timeline.rate_at(self._clock.now_ms())
        run = self._settings.run
        return run.rate / run.instance_count

    @property
    def in_flight(self) -> int:
        """Payments started and not yet finished."""
        return self.limiter.borrowed_tokens

    @property
    def backlog(self) -> int:
        """Arrivals due but not started because NUM_WORKERS payments are in flight."""
        return self._arrivals.pending if self._arrivals is not None else 0

    def stop_admitting(self) -> None:
        """Start no new payment; those in flight go on to the end of their workflow."""
        if self.admitting:
            self._end_admission(self._clock.now_ms())

    async def run(self) -> None:
        """Emit the banks, then every payment's events, until all are done (or cancelled)."""
        start = self._clock.now_ms()
        run = self._settings.run
        self._start_ms = start
        self.timeline, self.scenario = plan(
            self._settings, self._topics, random.Random(f"{self._instance}:delays"), start
        )
        if self._injector is not None and self.timeline is not None and self.timeline.phases:
            for edge in self.timeline.edges_ms():
                # First in its bucket (nothing else is in the wheel yet): the events due at
                # the edge are the new phase's.
                self._push(edge, _PHASE_EDGE)
        if run.duration_s:
            self._stop_at = start + run.duration_s * 1000
        self._stats.first_ts_ms = start
        await self._banks.create(start)
        interval = self._settings.entities.bank_update_interval_ms
        if interval:
            self._push(start + interval, _BANK_UPDATE)
        if run.rate:
            rate = run.rate / run.instance_count  # payments/s for this instance
            # Its own stream, so the arrival schedule does not depend on how ticks interleave.
            rng = random.Random(f"{self._instance}:arrivals")
            self._arrivals = start_arrivals(rate, run.arrivals, self.timeline, rng, start)
            self._arrive(start)
        more = self._admit(start)
        while await self._loop(interval, more):
            self._go_live()
            more = False

    async def _loop(self, interval: int, more: bool) -> bool:
        """Emit until the run is done (False), or until a backfill reaches now (True).

        In the second case nothing due after now was emitted yet; the caller switches to the
        real clock and calls again.
        """
        times, buckets, outbox, stats = self._times, self._buckets, self._outbox, self._stats
        clock, virtual, emitted = self._clock, self._clock.virtual, stats.emitted
        batch_size, pace, release = outbox.batch_size, self._pace, self.limiter.release_on_behalf_of
        injector = self._injector
        # Events to emit before the next one the injector takes (negative: never, so a run
        # without an injector never calls these).
        quiet = injector.first() if injector else -1
        emit: Callable[[list[Event], Topic, int, _Flight, int], int] = _no_injector
        release_held: Callable[[list[Event], int], None] = _no_injector
        if injector is not None:
            emit, release_held = injector.emit, injector.release
        wakes, now, stop_at = 0, clock.now_ms(), self._stop_at
        # Under the virtual clock, the wall clock as last read: a deadline past it reads it
        # again, and one past that too is where the backfill hands over.
        seen_ms = wall_ms() if virtual and self.hands_over else math.inf
        while (times or more) and (
            stats.started - stats.completed or self.admitting or (injector and injector.pending)
        ):
            if more:  # the pace held admission back: come back at the next ms, or when something is due
                now = clock.now_ms()
                await clock.sleep_until_ms(min(times[0], now + 1) if times else now + 1)
                now = clock.now_ms()
            else:
                deadline = times[0]
                wakes += 1
                if deadline > seen_ms:
                    seen_ms = wall_ms()
                    if deadline > seen_ms:
                        await clock.sleep_until_ms(now)
                        return True
                if virtual:
                    # The tick is exactly the deadline. Nothing reads the clock until this task
                    # yields, so the clock is only moved on before each await: a wake is then
                    # no dearer than a bucket.
                    now = deadline
                    if wakes == _WAKES_BETWEEN_YIELDS:
                        wakes = 0
                        await clock.sleep_until_ms(now)
                        await trio.lowlevel.checkpoint()
                else:
                    await clock.sleep_until_ms(deadline)
                    if wakes == _WAKES_BETWEEN_YIELDS:
                        wakes = 0
                        await trio.lowlevel.checkpoint()
                    now = max(deadline, clock.now_ms())  # we may wake late; that is lag
            buffer = outbox.buffer
            freed = False  # a token or an arrival: only then can _admit start anything
            woke, emitted_now = (0.0 if pace is None else time.perf_counter()), 0
            while times and times[0] <= now:
                due = heapq.heappop(times)
                items = buckets.pop(due)
                if not virtual:
                    stats.record_lag(now - due, len(items))
                    emitted_now += len(items)
                stats.last_ts_ms = due
                for item in items:
                    if item.__class__ is _Flight:
                        step = item.step
                        topic = item.topics[step]
                        if quiet:
                            quiet -= 1
                            buffer.append(new_event(Event, (topic, due, item)))
                            emitted[topic.name] += 1
                        else:
                            quiet = emit(buffer, topic, due, item, step)
                        step += 1
                        gaps = item.gaps
                        if step < len(gaps):
                            item.step = step
                            # _push, inlined: this runs once per event.
                            next_due = due + gaps[step]
                            bucket = buckets.get(next_due)
                            if bucket is None:
                                buckets[next_due] = [item]
                                heapq.heappush(times, next_due)
                            else:
                                bucket.append(item)
                        else:
                            release(item)
                            stats.completed += 1
                            freed = True
                    elif item is _BANK_UPDATE:
                        self._banks.update(due)
                        if self.in_flight or self.admitting:
                            self._push(self._next_bank_update(due, interval, len(items) == 1), _BANK_UPDATE)
                    elif item is _RELEASE:
                        release_held(buffer, due)
                    elif item is _PHASE_EDGE:
                        quiet = self._enter_phase(due, quiet, items)
                    else:
                        self._arrive(due)
                        freed = True
                    if len(buffer) >= batch_size:
                        if virtual:
                            await clock.sleep_until_ms(due)
                        await outbox.ship()
                        buffer = outbox.buffer
            if pace is not None and emitted_now:
                if len(outbox.buffer) >= _SHIP_NOW:
                    await outbox.ship()
                pace.emitted(emitted_now, time.perf_counter() - woke)
            if freed or more or now >= stop_at:
                more = self._admit(now)
        if virtual:
            await clock.sleep_until_ms(now)
        return False

    def _go_live(self) -> None:
        """Hand a backfill over to the real clock: pace the starts and keep hand-offs small, as a real-time run does."""
        self._clock.go_live()
        if self._clock.now_ms() >= self._stop_at:
            # The duration ran out while the backfill caught up with now: no arrival still in
            # the wheel may keep the run waiting in real time.
            self._end_admission(self._clock.now_ms())
        self._pace = Pace(_ADMIT_CHUNK)
        self._outbox.batch_size = min(self._outbox.batch_size, profile("real").batch_size)
        self.live_since_ms = self._clock.now_ms()

    def scenario_report(self) -> tuple[tuple[PhaseReport, ...], dict[str, DelayReport]]:
        """Per phase and per status figures for the summary (call once, at the end)."""
        if self.scenario is None:
            return (), {}
        until = self._admission_ended_ms if self._admission_ended_ms is not None else self._clock.now_ms()
        cut_short = (
            (item.topics, item.step)
            for bucket in self._buckets.values()
            for item in bucket
            if item.__class__ is _Flight
        )
        return reporting.scenario_report(self.scenario, cut_short, self.timeline is not None, self._start_ms, until)

    def _enter_phase(self, due: int, quiet: int, items: list[_Flight | _Tick]) -> int:
        """Tell the injector the phase now in force; ``items`` is the bucket due now, this edge first."""
        assert self._injector is not None and self.timeline is not None, "edges are pushed only with both"
        # The first events not yet emitted: payments in the wheel still at their first step.
        waiting = sum(
            1
            for bucket in (items, *self._buckets.values())
            for item in bucket
            if isinstance(item, _Flight) and item.step == 0
        )
        return self._injector.enter(self.timeline.index_at(due) + 1, quiet, self._stats.started - waiting)

    def _push(self, deadline: int, item: _Flight | _Tick) -> None:
        bucket = self._buckets.get(deadline)
        if bucket is None:
            self._buckets[deadline] = [item]
            heapq.heappush(self._times, deadline)
        else:
            bucket.append(item)

    def _next_bank_update(self, due: int, interval: int, alone: bool) -> int:
        """When the bank update after one at ``due`` (``alone`` in its bucket) is due.

        An interval later; but under the virtual clock a long quiet stretch (nothing due for
        more than ``_QUIET_INTERVALS`` intervals) is skipped to the first update on the grid
        at or after the next thing due: a payment days or years from its next step costs no
        record per interval of event time, and a short lull keeps its updates.
        """
        times = self._times
        if self._clock.virtual and alone and times and times[0] > due + _QUIET_INTERVALS * interval:
            return due + interval * -((due - times[0]) // interval)
        return due + interval

    def _release_at(self, due: int) -> None:
        self._push(due, _RELEASE)

    @property
    def anomalies(self) -> Mapping[str, Mapping[str, int]] | None:
        """What [anomalies] injected so far, per kind and topic; None without it."""
        if self._injector is None:
            return None
        return {kind: dict(counts) for kind, counts in self._injector.by_topic.items()}

    def cut_held(self) -> None:
        """Write the held-back events a stop cut to the ground truth (call once, when the run ends)."""
        if self._injector is not None:
            self._injector.cut(self._outbox.buffer)

    def anomaly_report(self) -> AnomalyReport | None:
        """What [anomalies] injected, None without it."""
        if self._injector is None:
            return None
        phased = self.scenario if self.timeline is not None and self.timeline.phases else None
        return reporting.anomaly_report(
            self._injector, self._stats, self._banks.topic, self._routes, self._labels, phased
        )

    def _arrive(self, due: int) -> None:
        """Count the arrivals due by ``due`` and schedule the next one (always after ``due``)."""
        arrivals = self._arrivals
        if self.admitting and arrivals is not None:
            next_ms = arrivals.arrive(due)
            # Once the backlog holds every payment left to start, later arrivals change no
            # start: no more ticks, so workers held for days leave the wheel quiet. Nor do
            # arrivals after the duration; in real time one would be waited for, for nothing
            # (under the virtual clock the tick is kept: it costs no time, and moving the end
            # of admission would move the tail of seeded runs).
            late = next_ms is not None and next_ms >= self._stop_at and not self._clock.virtual
            if (
                next_ms is not None
                and not late
                and not (self._target and arrivals.pending >= self._target - self._stats.started)
            ):
                self._push(next_ms, _ARRIVAL)

    def _admit(self, now: int) -> bool:
        """Start payments while the limiter has room and the run wants more.

        Under the real clock no more than the pace allows; True means it held some back,
        so the loop emits what falls due meanwhile and comes back for them.
        """
        if not self.admitting:
            return False
        stats = self._stats
        # Whichever runs out first: the limiter's tokens, the payments left to start, the
        # arrivals waiting, the pace's allowance. Nothing in _start changes them (only this
        # task takes tokens). Comparisons rather than min() over infinities: with drawn
        # delays this runs nearly every millisecond.
        borrowed = self.limiter.borrowed_tokens
        room = self._workers - borrowed
        if self._target:
            left = self._target - stats.started
            if left <= 0:
                self._end_admission(now)
                return False
            if left < room:
                room = left
        if now >= self._stop_at:
            self._end_admission(now)
            return False
        arrivals = self._arrivals
        if arrivals is not None and arrivals.pending < room:
            room = arrivals.pending
        if room <= 0:
            if arrivals is not None:
                if arrivals.exhausted and not arrivals.pending:
                    self._end_admission(now)  # no arrival ever comes again
                elif arrivals.pending and self.scenario is not None:
                    self.scenario.held(now)
            return False
        pace = self._pace
        if pace is None:
            self._start(now, room)
            count = room
        else:
            count = int(min(room, pace.allowance()))
            began = time.perf_counter()
            self._start(now, count)
            if count:
                pace.admitted(count, time.perf_counter() - began)
        if arrivals is not None:
            arrivals.pending -= count
            if arrivals.exhausted and not arrivals.pending:
                self._end_admission(now)
            elif arrivals.pending and self.scenario is not None:
                self.scenario.held(now)
        if self._target and stats.started == self._target:
            self._end_admission(now)
        if borrowed + count > stats.peak_in_flight:
            stats.peak_in_flight = borrowed + count
        return count < room

    def _start(self, now: int, count: int) -> None:
        """Start ``count`` payments at ``now`` (the limiter has the room)."""
        stats = self._stats
        rng, scenario, routes, pick, labels = self._rng, self.scenario, self._routes, self._pick, self._labels
        sources, destinations = self._banks.sources, self._banks.destinations
        tag, workflows, new_fields = self._tag, stats.workflows, self._new_fields
        push, acquire = self._push, self.limiter.acquire_on_behalf_of_nowait
        for _ in range(count):
            if scenario is None:
                index = pick(rng).index
                route = routes[index]
            else:
                index, route = scenario.start(now, rng)
            key, tail = new_fields(rng, sources, destinations, tag)
            flight = _Flight(key, tail, route)
            acquire(flight)
            workflows[labels[index]] += 1
            push(now + route[0][0], flight)
        stats.started += count

    def _end_admission(self, now: int) -> None:
        self._admission_ended_ms = now
        self.admitting = False
