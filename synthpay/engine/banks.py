"""The run's banks: every one on the banks topic before any payment, then one updated per tick.

Payments reference banks by their pre-encoded ids (``sources``, ``destinations``), picked
from a zipf table when popularity is skewed. The banks draw from their own seeded stream,
so their records do not depend on how many payments run.
"""

from __future__ import annotations

import random

from synthpay.config.settings import EntitySettings
from synthpay.engine.outbox import Outbox
from synthpay.engine.stats import EngineStats
from synthpay.model import entities
from synthpay.model.entities import Bank
from synthpay.model.events import Event, Topic


class Banks:
    """Creates the banks, updates them, and holds the ids payments pick from."""

    __slots__ = ("_banks", "_outbox", "_rng", "_settings", "_stats", "destinations", "sources", "topic")

    def __init__(
        self, settings: EntitySettings, rng: random.Random, outbox: Outbox, stats: EngineStats, topic: Topic
    ) -> None:
        self._settings = settings
        self._rng = rng
        self._outbox = outbox
        self._stats = stats
        self.topic = topic  # the banks topic
        self._banks: list[Bank] = []
        self.sources: list[entities.Encoded] = []  # what a payment's source is picked from
        self.destinations: list[entities.Encoded] = []

    async def create(self, now: int) -> None:
        """Every bank is on the banks topic before any payment can reference it."""
        settings = self._settings
        for count, ids in ((settings.sources, self.sources), (settings.destinations, self.destinations)):
            for _ in range(count):
                bank = entities.new_bank(self._rng, now)
                self._banks.append(bank)
                ids.append(entities.encoded(bank.id))
                self._emit(now, bank)
                self._stats.banks_created += 1
                if self._outbox.full:
                    await self._outbox.ship()
        if settings.popularity == "zipf":
            # Hot banks: sources[0] and destinations[0] the hottest, each side drawn on its own.
            self.sources = entities.zipf_table(self.sources, settings.zipf_s)
            self.destinations = entities.zipf_table(self.destinations, settings.zipf_s)

    def update(self, due: int) -> None:
        """A bank picked at random gets its next version, emitted at ``due``."""
        index = int(self._rng.random() * len(self._banks))
        bank = entities.updated(self._banks[index], due)
        self._banks[index] = bank
        self._emit(due, bank)
        self._stats.bank_updates += 1

    def _emit(self, ts_ms: int, bank: Bank) -> None:
        self._outbox.buffer.append(Event(self.topic, ts_ms, bank))
        self._stats.emitted[self.topic.name] += 1
