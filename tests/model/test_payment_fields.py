"""[amounts] in the model: the original's payment maker when unset, the same draws but for what is configured."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synthpay.model import entities
from synthpay.model.amounts import CurrencyMix, amount_cdf, cents, payment_fields
from synthpay.model.delays import Delay

BANKS = [entities.encoded(f"bank-{i}") for i in range(10)]


def _make(distribution: Delay | None, mix: CurrencyMix, seed: int = 3) -> entities.Payment:
    key, tail = payment_fields(distribution, mix)(random.Random(seed), BANKS, BANKS, None)
    return entities.Payment(key, tail)


def test_unset_is_the_original_payment_maker() -> None:
    assert payment_fields(None, CurrencyMix()) is entities.new_payment_fields


def test_a_currency_mix_alone_changes_the_currency_and_nothing_else() -> None:
    original = entities.Payment(*entities.new_payment_fields(random.Random(3), BANKS, BANKS))
    mixed = _make(None, CurrencyMix((("XTS", 1.0),)))
    assert mixed.currency == "XTS"
    assert (mixed.id, mixed.source, mixed.destination, mixed.amount) == (
        original.id,
        original.source,
        original.destination,
        original.amount,
    )


def test_a_distribution_alone_changes_the_amount_and_nothing_else() -> None:
    original = entities.Payment(*entities.new_payment_fields(random.Random(3), BANKS, BANKS))
    drawn = _make(Delay("fixed", (12.345,)), CurrencyMix())
    assert drawn.amount == 12.35  # whole cents
    assert (drawn.id, drawn.source, drawn.destination, drawn.currency) == (
        original.id,
        original.source,
        original.destination,
        original.currency,
    )


def test_a_zero_weight_currency_is_never_drawn() -> None:
    mix = CurrencyMix((("EUR", 0.0), ("USD", 1.0), ("GBP", 0.0)))
    assert {_make(None, mix, seed).currency for seed in range(300)} == {"USD"}


@given(
    dist=st.sampled_from(["uniform", "exponential", "lognormal", "normal"]),
    a=st.floats(0.001, 1e6),
    b=st.floats(0.001, 1e6),
    seed=st.integers(0, 2**32),
)
def test_every_amount_is_whole_cents_and_at_least_one(dist: str, a: float, b: float, seed: int) -> None:
    low, high = sorted((a, b))
    params = {"uniform": (low, high), "exponential": (a,), "lognormal": (low, high * 2), "normal": (a, b)}[dist]
    amount = _make(Delay(dist, params), CurrencyMix(), seed).amount
    assert amount >= 0.01
    assert round(amount * 100) == pytest.approx(amount * 100, abs=1e-6)


def test_the_cdf_of_amounts_counts_whole_cents() -> None:
    uniform = Delay("uniform", (0.0, 1.0))
    assert amount_cdf(uniform, 0.0) == 0.0
    assert amount_cdf(uniform, 0.01) == pytest.approx(0.015)
    assert amount_cdf(uniform, 0.5) == pytest.approx(0.505)
    assert cents(uniform, 0.0) == 1  # at least a cent
