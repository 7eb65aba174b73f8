"""The worker: drives many payments' workflows from one deadline heap.

A Trio task per payment costs about 3 KB and tops out near 25,000 steps/s; one task that
sleeps until the earliest deadline and then emits every step that is due costs a heap
entry per payment and goes an order of magnitude faster. The ``CapacityLimiter`` keeps
the original's meaning of NUM_WORKERS: at most that many payments in flight. Bank updates
are entries in the same heap, so one task emits everything, in time order, which is what
makes a seeded virtual-clock run reproducible to the byte.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Mapping

import trio

from synthpay import entities
from synthpay.clock import EngineClock
from synthpay.config import Settings
from synthpay.entities import Bank, Payment
from synthpay.events import Event, Topic
from synthpay.outbox import Outbox
from synthpay.stats import EngineStats
from synthpay.workflow import Mix

# Admitting many payments at once is CPU work; under the real clock, re-read the time and
# let other tasks run every so often so late admissions start late instead of lagging.
_ADMIT_CHUNK = 1000


class _Flight:
    """A payment in flight: which step of which route comes next. Hashable by identity."""

    __slots__ = ("payment", "route", "label", "step", "start_ms")

    payment: Payment
    route: tuple[tuple[int, Topic], ...]
    start_ms: int

    def __init__(self) -> None:
        self.step = 0


class Scheduler:
    """Admits payments under the limiter and emits their events when due."""

    def __init__(
        self,
        settings: Settings,
        clock: EngineClock,
        outbox: Outbox,
        stats: EngineStats,
        topics: Mapping[str, Topic],
        banks_topic: Topic,
        seed: int,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._outbox = outbox
        self._stats = stats
        self._mix = Mix(settings.workflows, settings.statuses, settings.timing)
        # Per workflow: (offset, topic) for each step, so emitting needs no lookups.
        self._routes = [
            tuple((s.offset_ms, topics[s.status.name]) for s in plan.steps) for plan in self._mix.plans
        ]
        self._banks_topic = banks_topic
        self._rng = random.Random(f"{seed}:payments")
        self._bank_rng = random.Random(f"{seed}:banks")
        self.limiter = trio.CapacityLimiter(settings.run.workers)
        self._heap: list[tuple[int, int, _Flight | None]] = []
        self._seq = 0
        self._banks: list[Bank] = []
        self._sources: list[str] = []
        self._destinations: list[str] = []
        self.admitting = True

    @property
    def in_flight(self) -> int:
        """Payments started and not yet finished."""
        return self.limiter.borrowed_tokens

    def stop_admitting(self) -> None:
        """Start no new payment; those in flight go on to the end of their workflow."""
        self.admitting = False

    async def run(self) -> None:
        """Emit the banks, then every payment's events, until all are done (or cancelled)."""
        start = self._clock.now_ms()
        await self._create_banks(start)
        interval = self._settings.entities.bank_update_interval_ms
        if interval:
            self._push(start + interval, None)
        await self._admit(start)
        heap, outbox, virtual = self._heap, self._outbox, self._clock.virtual
        while heap and (self.in_flight or self.admitting):
            deadline = heap[0][0]
            await self._clock.sleep_until_ms(deadline)
            # Virtual: the tick is exactly the deadline. Real: we may wake late; that is lag.
            now = deadline if virtual else max(deadline, self._clock.now_ms())
            lag = now - deadline
            if lag > self._stats.lag_max_ms:
                self._stats.lag_max_ms = lag
            while heap and heap[0][0] <= now:
                due, _, flight = heapq.heappop(heap)
                if flight is None:
                    self._update_bank(due, interval)
                else:
                    self._step(flight, due)
                if outbox.full:
                    await outbox.ship()
            await self._admit(now)

    def _push(self, deadline: int, flight: _Flight | None) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (deadline, self._seq, flight))

    def _emit(self, topic: Topic, ts_ms: int, entity: Payment | Bank) -> None:
        self._outbox.buffer.append(Event(topic, ts_ms, entity))
        stats = self._stats
        stats.emitted[topic.name] += 1
        if stats.first_ts_ms is None:
            stats.first_ts_ms = ts_ms
        stats.last_ts_ms = ts_ms

    def _step(self, flight: _Flight, due: int) -> None:
        route = flight.route
        self._emit(route[flight.step][1], due, flight.payment)
        flight.step += 1
        if flight.step < len(route):
            self._push(flight.start_ms + route[flight.step][0], flight)
        else:
            self._stats.completed += 1
            self.limiter.release_on_behalf_of(flight)

    async def _admit(self, now: int) -> None:
        """Start payments while the limiter has room and the run wants more."""
        target = self._settings.run.payments
        stats, rng, limiter = self._stats, self._rng, self.limiter
        admitted = 0
        while self.admitting:
            if target and stats.started >= target:
                self.admitting = False
                break
            flight = _Flight()
            try:
                limiter.acquire_on_behalf_of_nowait(flight)
            except trio.WouldBlock:
                break
            plan = self._mix.pick(rng)
            flight.payment = entities.new_payment(rng, self._sources, self._destinations)
            flight.route = self._routes[plan.index]
            flight.start_ms = now
            stats.started += 1
            stats.workflows[plan.workflow.label] += 1
            self._push(now + flight.route[0][0], flight)
            admitted += 1
            if admitted % _ADMIT_CHUNK == 0:
                await trio.lowlevel.checkpoint()
                if not self._clock.virtual:
                    now = max(now, self._clock.now_ms())

    async def _create_banks(self, now: int) -> None:
        """Every bank is on the banks topic before any payment can reference it."""
        entity_settings = self._settings.entities
        for count, ids in ((entity_settings.sources, self._sources),
                           (entity_settings.destinations, self._destinations)):
            for _ in range(count):
                bank = entities.new_bank(self._bank_rng, now)
                self._banks.append(bank)
                ids.append(bank.id)
                self._emit(self._banks_topic, now, bank)
                self._stats.banks_created += 1
                if self._outbox.full:
                    await self._outbox.ship()

    def _update_bank(self, due: int, interval: int) -> None:
        index = int(self._bank_rng.random() * len(self._banks))
        bank = entities.updated(self._banks[index], due)
        self._banks[index] = bank
        self._emit(self._banks_topic, due, bank)
        self._stats.bank_updates += 1
        if self.in_flight or self.admitting:
            self._push(due + interval, None)
