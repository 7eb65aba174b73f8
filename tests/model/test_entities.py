"""[entities] popularity = "zipf": hot banks, at the share zipf's law gives them."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest
from conftest import read_avro, run_engine
from hypothesis import given, settings
from hypothesis import strategies as st

from synthpay.model import entities


@given(count=st.integers(1, 3000), s=st.floats(0.1, 10))
@settings(max_examples=40, deadline=None)
def test_table_shares_follow_the_law_within_one_entry(count: int, s: float) -> None:
    banks = [(str(k), str(k).encode()) for k in range(count)]
    table = entities.zipf_table(banks, s)
    seen = Counter(name for name, _ in table)
    for rank in {1, min(2, count), count}:
        assert abs(seen[str(rank - 1)] / len(table) - entities.zipf_share(rank, count, s)) <= 1 / len(table)


def test_the_first_bank_is_the_hottest() -> None:
    banks = [(str(k), b"") for k in range(10)]
    seen = Counter(name for name, _ in entities.zipf_table(banks, 1.1))
    assert [name for name, _ in seen.most_common()] == [str(k) for k in range(10)]


@pytest.fixture(scope="module")
def hot(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict[str, list[dict[str, object]]]]:
    overrides = {"run.payments": 20_000, "entities.popularity": "zipf", "entities.zipf_s": 1.1}
    _, out_dir, _ = run_engine(tmp_path_factory.mktemp("zipf"), overrides)
    records = read_avro(out_dir)
    created = [str(b["id"]) for b in records["banks"] if b["version"] == 1]
    return created, records


@pytest.mark.parametrize(("side", "first_bank"), [("source", 0), ("destination", 10)])
def test_top_bank_share_of_payments_matches_zipf(
    hot: tuple[list[str], dict[str, list[dict[str, object]]]], side: str, first_bank: int
) -> None:
    created, records = hot
    picks = Counter(str(r[side]) for r in records["payment-initiated"])
    n, p = sum(picks.values()), entities.zipf_share(1, 10, 1.1)
    top, hits = picks.most_common(1)[0]
    assert top == created[first_bank]
    assert abs(hits - n * p) <= 5 * math.sqrt(n * p * (1 - p))


def test_source_and_destination_are_drawn_apart(hot: tuple[list[str], dict[str, list[dict[str, object]]]]) -> None:
    created, records = hot
    both = sum(1 for r in records["payment-initiated"] if r["source"] == created[0] and r["destination"] == created[10])
    n, p = len(records["payment-initiated"]), entities.zipf_share(1, 10, 1.1) ** 2
    assert abs(both - n * p) <= 5 * math.sqrt(n * p * (1 - p))


def test_uniform_is_the_default(tmp_path: Path) -> None:
    _, out_dir, _ = run_engine(tmp_path, {"run.payments": 5000})
    picks = Counter(str(r["source"]) for r in read_avro(out_dir)["payment-initiated"])
    assert max(picks.values()) / 5000 < 0.15
