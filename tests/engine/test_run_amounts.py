"""[amounts] in a seeded run: the amounts written follow the configured distribution, the currencies the mix."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import read_avro, run_engine

from synthpay.model.amounts import amount_cdf
from synthpay.model.delays import Delay
from synthpay.model.goodness import chi_squared_p

_PAYMENTS = 20_000
_KS_CRITICAL = 1.95  # times 1/sqrt(n): the 0.1% point


def ks_amounts(distribution: Delay, amounts: list[float]) -> float:
    """Largest gap between the amounts' CDF and the distribution's, for amounts in whole cents."""
    counts, n, seen, worst = Counter(amounts), len(amounts), 0, 0.0
    for amount in sorted(counts):
        below = seen / n
        seen += counts[amount]
        worst = max(worst, abs(seen / n - amount_cdf(distribution, amount)))
        worst = max(worst, abs(below - amount_cdf(distribution, amount - 0.01)))
    return worst


def _initiated(tmp_path: Path, overrides: dict[str, Any]) -> list[dict[str, Any]]:
    # Every payment at once: the amounts are what is looked at, not the timing.
    _, out_dir, _ = run_engine(tmp_path, {"run.payments": _PAYMENTS, "run.workers": _PAYMENTS, **overrides})
    return read_avro(out_dir)["payment-initiated"]


@pytest.mark.parametrize(
    ("spelled", "distribution"),
    [
        ("uniform min=5 max=250", Delay("uniform", (5.0, 250.0))),
        ("exponential mean=80", Delay("exponential", (80.0,))),
        ("lognormal median=42.5 p99=2400", Delay("lognormal", (42.5, 2400.0))),
        ("normal mean=100 stddev=60", Delay("normal", (100.0, 60.0))),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_amounts_follow_the_configured_distribution(tmp_path: Path, spelled: str, distribution: Delay) -> None:
    amounts = [r["amount"] for r in _initiated(tmp_path, {"amounts.distribution": spelled})]
    assert len(amounts) == _PAYMENTS
    assert ks_amounts(distribution, amounts) <= _KS_CRITICAL / math.sqrt(len(amounts))


def test_a_fixed_amount_is_every_amount(tmp_path: Path) -> None:
    amounts = {r["amount"] for r in _initiated(tmp_path, {"amounts.distribution": "fixed value=19.99"})}
    assert amounts == {19.99}


def test_currencies_follow_the_mix(tmp_path: Path) -> None:
    weights = {"EUR": 60, "USD": 30, "GBP": 10}
    seen = Counter(r["currency"] for r in _initiated(tmp_path, {"amounts.currencies": "EUR=60,USD=30,GBP=10"}))
    assert set(seen) == set(weights)
    _, p = chi_squared_p([seen[c] for c in weights], list(weights.values()))
    assert p >= 0.001


def test_a_payment_keeps_its_amount_and_currency_in_every_event(tmp_path: Path) -> None:
    _, out_dir, _ = run_engine(
        tmp_path,
        {"run.payments": 500, "amounts.distribution": "exponential mean=80", "amounts.currencies": "EUR=1,USD=1"},
    )
    fields: dict[str, set[tuple[float, str]]] = {}
    for topic, records in read_avro(out_dir).items():
        if topic != "banks":
            for r in records:
                fields.setdefault(r["id"], set()).add((r["amount"], r["currency"]))
    assert len(fields) == 500 and all(len(seen) == 1 for seen in fields.values())
