"""Bank popularity: counts drawn from synthpay's own popularity tables are recognised."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from synthpay.calibrate.zipf import Popularity, fit_popularity, zipf_s
from synthpay.model import entities


def picked(banks: int, s: float | None, picks: int, seed: int) -> list[int]:
    """Payments per bank when ``picks`` payments pick from the engine's table (None: uniform)."""
    names = [entities.encoded(f"bank-{i}") for i in range(banks)]
    table = names if s is None else entities.zipf_table(names, s)
    rng = random.Random(seed)
    counts = Counter(table[int(rng.random() * len(table))] for _ in range(picks))
    shuffled = [counts[name] for name in names]
    rng.shuffle(shuffled)  # the fit is told no ranks
    return shuffled


@pytest.mark.parametrize(("banks", "s"), [(10, 1.0), (50, 0.5), (200, 1.2), (20, 2.0)])
def test_zipf_counts_give_zipf_and_its_exponent(banks: int, s: float) -> None:
    popularity = fit_popularity(picked(banks, s, 100_000, seed=3))
    assert popularity.kind == "zipf" and popularity.banks == banks
    assert popularity.s == pytest.approx(s, rel=0.03)
    assert popularity.p_uniform < 0.001


@pytest.mark.parametrize("seed", range(8))
def test_uniform_counts_stay_uniform(seed: int) -> None:
    popularity = fit_popularity(picked(100, None, 100_000, seed))
    assert popularity.kind == "uniform"
    assert popularity.p_uniform >= 0.001
    # Ranking equal banks by chance counts looks like a faint skew, nothing more.
    assert popularity.s < 0.05


def test_a_faint_skew_on_few_payments_is_not_told_from_uniform() -> None:
    assert fit_popularity(picked(20, 0.05, 500, seed=1)).kind == "uniform"


def test_one_bank_or_no_payments_is_uniform() -> None:
    assert fit_popularity([7]) == Popularity(1, "uniform", 0.0, 1.0)
    assert fit_popularity([0, 0, 0]) == Popularity(3, "uniform", 0.0, 1.0)


def test_one_bank_taking_everything_is_the_steepest_zipf() -> None:
    assert zipf_s([1000, 0, 0, 0]) == 20.0


@pytest.mark.parametrize(("counts", "message"), [([], "no banks"), ([3, -1], "counts must be >= 0")])
def test_bad_counts_are_refused(counts: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_popularity(counts)
