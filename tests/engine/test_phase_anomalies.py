"""Phases that override the [anomalies] rates: parsing, realized rates per phase, verify."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import START_MS, settings_for
from engine_runs import Written, _run, load_toml, verify_written

from synthpay.config.settings import Settings
from synthpay.model.reports import AnomalyReport, PhaseAnomalies
from synthpay.model.timeline import Phase
from synthpay.summary.document import Summary
from synthpay.verify.anomalies import binomial_ok
from synthpay.verify.checks import Check
from synthpay.verify.manifest import load_manifest

RUN_ID = "phase-anomalies"
# 200 payments/s for 100 s; the phase is the 40 s from 30 s on.
PHASE_START_MS, PHASE_END_MS = START_MS + 30_000, START_MS + 70_000


def _settings(run_rates: Mapping[str, float], phase_rates: Mapping[str, float] | None) -> Settings:
    overrides: dict[str, Any] = {
        "run.payments": 0,
        "run.rate": 200,
        "run.duration_s": 100,
        "run.workers": 100_000,
        "run.sink": "null",
        "run.run_id": RUN_ID,
    }
    overrides.update({f"anomalies.{kind}": p for kind, p in run_rates.items()})
    settings = settings_for(None, overrides)
    return dataclasses.replace(settings, phases=(Phase("incident", 30, 40, anomalies=phase_rates),))


def _rows(summary: Summary) -> dict[str, PhaseAnomalies]:
    assert summary.anomalies is not None
    return {row.name: row for row in summary.anomalies.phases}


@pytest.fixture(scope="module")
def surge() -> tuple[Summary, list[Written]]:
    """Duplicates at 1% over the run, 10% in the phase."""
    return _run(_settings({"duplicate": 0.01}, {"duplicate": 0.1}))


@pytest.fixture(scope="module")
def switched_on() -> tuple[Summary, list[Written]]:
    """No [anomalies]: the phase alone turns every kind on."""
    rates = {"late": 0.03, "duplicate": 0.03, "out_of_order": 0.03, "missing": 0.03}
    return _run(_settings({}, rates))


# -- parsing


def test_a_phase_anomalies_table_is_parsed(tmp_path: Path) -> None:
    settings = load_toml(
        tmp_path, '[[phases]]\nname = "p"\nat_s = 1\nduration_s = 2\nanomalies = { duplicate = 0.2, missing = 0 }\n'
    )
    assert settings.phases[0].anomalies == {"duplicate": 0.2, "missing": 0.0}


# -- realized rates


def test_a_raised_rate_shows_inside_the_phase_and_the_runs_rate_outside(surge: tuple[Summary, list[Written]]) -> None:
    rows = _rows(surge[0])
    inside, outside = rows["incident"], rows[""]
    assert (inside.rates["duplicate"], outside.rates["duplicate"]) == (0.1, 0.01)
    assert inside.candidates["duplicate"] > 20_000 and outside.candidates["duplicate"] > 30_000
    assert binomial_ok(inside.injected["duplicate"], inside.candidates["duplicate"], 0.1)
    assert binomial_ok(outside.injected["duplicate"], outside.candidates["duplicate"], 0.01)


def test_a_phases_candidates_and_injected_are_its_events_by_ts(surge: tuple[Summary, list[Written]]) -> None:
    summary, written = surge
    inside = _rows(summary)["incident"]
    in_phase = [w for w in written if PHASE_START_MS <= w.ts < PHASE_END_MS]
    assert inside.candidates["duplicate"] == sum(1 for w in in_phase if w.anomaly != "duplicate")
    assert inside.injected["duplicate"] == sum(1 for w in in_phase if w.anomaly == "duplicate")


def test_per_phase_candidates_and_injected_add_up_to_the_runs(surge: tuple[Summary, list[Written]]) -> None:
    report = surge[0].anomalies
    assert report is not None
    for kind in ("late", "duplicate", "out_of_order", "missing"):
        assert sum(row.candidates[kind] for row in report.phases) == report.candidates[kind]
        assert sum(row.injected[kind] for row in report.phases) == report.injected[kind]


def test_a_phase_turns_anomalies_on_in_a_run_without_them(switched_on: tuple[Summary, list[Written]]) -> None:
    summary, written = switched_on
    rows = _rows(summary)
    assert sum(rows[""].injected.values()) == 0
    for kind in ("late", "duplicate", "out_of_order", "missing"):
        assert binomial_ok(rows["incident"].injected[kind], rows["incident"].candidates[kind], 0.03), kind
    late = [w for w in written if w.anomaly in ("late", "duplicate")]
    assert late and all(PHASE_START_MS <= w.ts < PHASE_END_MS for w in late)


def test_a_phase_that_repeats_the_runs_rates_changes_no_record() -> None:
    rates = {"late": 0.02, "duplicate": 0.02, "out_of_order": 0.02, "missing": 0.02}
    _, plain = _run(_settings(rates, None))
    _, repeated = _run(_settings(rates, dict(rates)))
    assert repeated == plain


# -- verify


def _verify(summary: Summary, written: Sequence[Written], tmp_path: Path, edit: Any = None) -> dict[str, Check]:
    data = json.loads(summary.to_json())
    if edit is not None:
        edit(data)
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(data))
    return verify_written(path, written, RUN_ID, phase_headers=True)


def _failed(checks: dict[str, Check]) -> set[str]:
    return {name for name, c in checks.items() if not c.ok} - {"banks", "counts"}  # no bank records fed here


def test_verify_passes_a_run_with_phase_anomalies(switched_on: tuple[Summary, list[Written]], tmp_path: Path) -> None:
    checks = _verify(*switched_on, tmp_path)
    assert _failed(checks) == set(), [c.render() for c in checks.values() if not c.ok]
    assert "phase anomalies" in checks


def test_verify_fails_a_duplicate_moved_out_of_its_phase(
    switched_on: tuple[Summary, list[Written]], tmp_path: Path
) -> None:
    summary, written = switched_on
    i = next(i for i, w in enumerate(written) if w.anomaly == "duplicate")
    # In its place, a labelled copy of a clean record on the same topic from before the phase:
    # the counts per kind and topic hold, the count per phase does not.
    before = next(w for w in written if not w.anomaly and w.topic == written[i].topic and w.ts < PHASE_START_MS)
    moved = dataclasses.replace(before, anomaly="duplicate", emitted_ms=before.emitted_ms + 1)
    assert _failed(_verify(summary, [*written[:i], moved, *written[i + 1 :]], tmp_path)) == {"phase anomalies"}


def test_verify_fails_a_phase_rate_other_than_what_was_emitted(
    switched_on: tuple[Summary, list[Written]], tmp_path: Path
) -> None:
    def halve(data: dict[str, Any]) -> None:
        incident = next(row for row in data["anomalies"]["phases"] if row["name"] == "incident")
        incident["rates"]["late"] = 0.015

    assert _failed(_verify(*switched_on, tmp_path, edit=halve)) == {"rates"}


def test_the_summary_json_round_trips_the_phase_rows(
    switched_on: tuple[Summary, list[Written]], tmp_path: Path
) -> None:
    summary = switched_on[0]
    path = tmp_path / "s.json"
    path.write_text(summary.to_json())
    loaded: AnomalyReport | None = load_manifest(str(path)).anomalies
    assert loaded is not None and summary.anomalies is not None
    assert loaded.phases == summary.anomalies.phases


def test_a_phases_missing_candidates_are_its_events_after_a_first_by_ts() -> None:
    summary, written = _run(_settings({"missing": 0.01}, {"missing": 0.05}))
    report = summary.anomalies
    assert report is not None
    inside = _rows(summary)["incident"]
    first_topic = summary.plan.statuses[summary.plan.workflows[0].steps[0]].topic
    never = sum(1 for times in report.missing_ts.values() for ts in times if PHASE_START_MS <= ts < PHASE_END_MS)
    payment = [w for w in written if w.topic != summary.plan.ground_truth_topic]
    later = sum(1 for w in payment if w.topic != first_topic and PHASE_START_MS <= w.ts < PHASE_END_MS)
    assert inside.injected["missing"] == never
    assert inside.candidates["missing"] == later + never


def test_out_of_order_follows_the_phase_a_payment_started_in() -> None:
    summary, written = _run(_settings({"out_of_order": 0.02}, {"out_of_order": 0.2}))
    rows = _rows(summary)
    for name, p in (("", 0.02), ("incident", 0.2)):
        swapped = sum(1 for w in written if w.anomaly == "out_of_order" and w.phase == name)
        assert swapped == rows[name].injected["out_of_order"]
        assert binomial_ok(swapped, rows[name].candidates["out_of_order"], p), name
