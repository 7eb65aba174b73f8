"""What a payment is worth and in which currency, when the configuration says so ([amounts]).

Opt-in: without a distribution or a currency mix, payments are made by
:func:`synthpay.model.entities.new_payment_fields` (the original's uniform amount and
currency), and the run draws exactly the random numbers it always has. With either,
:func:`payment_fields` returns a function of the same signature that draws from them; the
scheduler picks one of the two once, so no payment pays for a branch.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from synthpay.model import serde
from synthpay.model.delays import Delay
from synthpay.model.entities import (
    CURRENCIES,
    Encoded,
    new_payment_fields,
    new_uuid,
    uniform_amount,
    uniform_currency,
)

#: Makes a payment's ``kafka_key`` and ``avro_tail`` (see :func:`~synthpay.model.entities.new_payment_fields`).
PaymentFields = Callable[[random.Random, Sequence[Encoded], Sequence[Encoded], "int | None"], tuple[bytes, bytes]]
#: The least amount drawn: one cent (a drawn 0 or below is this).
MIN_CENTS: Final = 1
_HALF: Final = 0.5


@dataclass(frozen=True, slots=True)
class CurrencyMix:
    """Currencies by weight: ISO 4217 code -> weight, in the order given; empty = uniform over every code."""

    weights: tuple[tuple[str, float], ...] = ()

    def share(self, code: str) -> float:
        """The share of payments in ``code``."""
        if not self.weights:
            return 1 / len(CURRENCIES) if code in CURRENCIES else 0.0
        total = sum(w for _, w in self.weights)
        return sum(w for c, w in self.weights if c == code) / total


def cents(distribution: Delay, p: float) -> int:
    """The amount in whole cents at the ``p`` quantile of ``distribution`` (in currency units), at least a cent."""
    return max(MIN_CENTS, int(distribution.quantile(p) * 100 + _HALF))


def amount_cdf(distribution: Delay, amount: float) -> float:
    """P(a drawn amount <= ``amount``), for amounts in whole cents: what a KS test compares with."""
    cent = round(amount * 100)
    return 0.0 if cent < MIN_CENTS else distribution.cdf((cent + 0.5) / 100)


def payment_fields(distribution: Delay | None, mix: CurrencyMix) -> PaymentFields:
    """The function that makes each payment's fields: the original's when neither is set."""
    if distribution is None and not mix.weights:
        return new_payment_fields
    draw_amount = _amount_drawer(distribution)
    pick_currency = _currency_picker(mix)

    def new_fields(
        rng: random.Random, sources: Sequence[Encoded], destinations: Sequence[Encoded], tag: int | None = None
    ) -> tuple[bytes, bytes]:
        # As new_payment_fields, in the same order: the id, the banks, then currency and amount.
        rand = rng.random
        pid = new_uuid(rng, tag)
        source_avro = sources[int(rand() * len(sources))][1]
        destination_avro = destinations[int(rand() * len(destinations))][1]
        currency_avro = pick_currency(rng)
        amount = draw_amount(rng)
        return pid.encode(), b"".join((destination_avro, source_avro, currency_avro, serde.avro_double(amount)))

    return new_fields


def _amount_drawer(distribution: Delay | None) -> Callable[[random.Random], float]:
    """Draws an amount: a point of the distribution's quantile table (in cents), between two levels' middles.

    The delays' table (:meth:`~synthpay.model.delays.Delay.table`, here in whole cents) gives
    the amount at the middle of each of its equally likely levels; one ``random()`` picks a
    point between two neighbouring middles, linearly, so amounts are not limited to the
    table's values, and the drawn CDF is within 1/(2 LEVELS) of the configured one. A direct
    inverse transform per payment costs several times as much.
    """
    if distribution is None:
        return uniform_amount
    if distribution.fixed:
        value = cents(distribution, 0.5) / 100
        return lambda rng: value
    table = distribution.scaled(100).table().ms
    last = len(table) - 1

    def draw(rng: random.Random) -> float:
        at = rng.random() * last
        level = int(at)
        low = table[level]
        cent = int(low + (table[level + 1] - low) * (at - level) + _HALF)
        return (cent if cent > MIN_CENTS else MIN_CENTS) / 100

    return draw


def _currency_picker(mix: CurrencyMix) -> Callable[[random.Random], bytes]:
    if not mix.weights:
        return uniform_currency
    codes = [serde.avro_string(code) for code, _ in mix.weights]
    cumulative = list(itertools.accumulate(w for _, w in mix.weights))
    total = cumulative[-1]

    def pick(rng: random.Random) -> bytes:
        return codes[bisect.bisect_right(cumulative, rng.random() * total)]

    return pick
