"""verify's anomaly checks, fed the records an engine run emitted (no broker needed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import settings_for
from engine_runs import Written, _run, verify_written

from synthpay.verify.anomalies import binomial_ok
from synthpay.verify.checks import Check

RUN_ID = "verify-anomalies"


@pytest.fixture(scope="module")
def emitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Written]]:
    overrides = {
        "run.payments": 3000,
        "run.sink": "null",
        "run.run_id": RUN_ID,
        "anomalies.late": 0.03,
        "anomalies.duplicate": 0.03,
        "anomalies.out_of_order": 0.03,
        "anomalies.missing": 0.03,
        "entities.popularity": "zipf",
    }
    summary, written = _run(settings_for(None, overrides))
    path = tmp_path_factory.mktemp("verify") / "summary.json"
    path.write_text(summary.to_json())
    return path, written


def _verify(summary: Path, written: Sequence[Written]) -> dict[str, Check]:
    return verify_written(summary, written, RUN_ID)


def _failed(checks: dict[str, Check]) -> set[str]:
    return {name for name, c in checks.items() if not c.ok} - {"banks", "counts"}  # no bank records fed here


def test_a_labelled_dirty_run_passes(emitted: tuple[Path, list[Written]]) -> None:
    checks = _verify(*emitted)
    assert _failed(checks) == set(), [c.render() for c in checks.values() if not c.ok]
    assert {"anomalies", "missing", "rates", "timestamps", "hot banks"} <= set(checks)


def test_an_unlabelled_duplicate_fails(emitted: tuple[Path, list[Written]]) -> None:
    path, written = emitted
    clean = next(w for w in written if not w.anomaly)
    assert _failed(_verify(path, [*written, clean])) == {"duplicates"}


def test_an_unlabelled_swap_fails(emitted: tuple[Path, list[Written]]) -> None:
    path, written = emitted
    swapped = next(i for i, w in enumerate(written) if w.anomaly == "out_of_order" and w.emitted_ms > w.ts)
    tampered = [*written[:swapped], replace(written[swapped], anomaly=""), *written[swapped + 1 :]]
    assert _failed(_verify(path, tampered)) == {"timestamps", "anomalies"}


def test_an_unlabelled_late_record_fails(emitted: tuple[Path, list[Written]]) -> None:
    path, written = emitted
    clean = next(i for i, w in enumerate(written) if not w.anomaly)
    tampered = [*written[:clean], replace(written[clean], emitted_ms=written[clean].ts + 5), *written[clean + 1 :]]
    assert _failed(_verify(path, tampered)) == {"timestamps"}


def test_a_labelled_record_that_never_arrives_fails(emitted: tuple[Path, list[Written]]) -> None:
    path, written = emitted
    first_dup = next(i for i, w in enumerate(written) if w.anomaly == "duplicate")
    assert _failed(_verify(path, written[:first_dup] + written[first_dup + 1 :])) == {"anomalies"}


@pytest.mark.parametrize(("hits", "ok"), [(1000, True), (1100, True), (1200, False), (800, False)])
def test_rates_are_judged_binomially(hits: int, ok: bool) -> None:
    assert binomial_ok(hits, 100_000, 0.01) is ok
