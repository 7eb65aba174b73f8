"""verify reads what a run withheld from its ground-truth topic (records an engine run emitted, no broker)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from conftest import settings_for
from engine_runs import _run, verify_written

from synthpay.engine.injector import MISSING_IDS_CAP

RUN_ID = "verify-ground-truth"


def test_verify_fills_in_every_missing_event_of_a_run_past_the_summarys_list(tmp_path: Path) -> None:
    overrides = {"run.payments": 6000, "run.sink": "null", "run.run_id": RUN_ID, "anomalies.missing": 1.0}
    summary, written = _run(settings_for(None, overrides))
    assert summary.anomalies is not None and sum(summary.anomalies.missing.values()) > MISSING_IDS_CAP
    path = tmp_path / "summary.json"
    path.write_text(summary.to_json())
    checks = verify_written(path, written, RUN_ID)
    assert {name for name, c in checks.items() if not c.ok} == {"banks", "counts"}  # no bank records fed here
    assert checks["missing"].detail.startswith(f"{sum(summary.anomalies.missing.values())} missing events on the")


def test_verify_fails_a_missing_event_the_ground_truth_lacks(tmp_path: Path) -> None:
    overrides = {"run.payments": 300, "run.sink": "null", "run.run_id": RUN_ID, "anomalies.missing": 0.2}
    summary, written = _run(settings_for(None, overrides))
    path = tmp_path / "summary.json"
    path.write_text(summary.to_json())
    gt = summary.plan.ground_truth_topic
    dropped = next(i for i, w in enumerate(written) if w.topic == gt)
    checks = verify_written(path, [*written[:dropped], *written[dropped + 1 :]], RUN_ID)
    assert not checks["missing"].ok
    assert f"{gt} consumed " in " ".join(checks["counts"].offenders)


def test_a_summary_with_held_back_events_cut_is_not_ok() -> None:
    overrides = {"run.payments": 100, "run.sink": "null", "anomalies.late": 0.1}
    summary, _ = _run(settings_for(None, overrides))
    assert summary.ok and summary.anomalies is not None
    cut = replace(summary, anomalies=replace(summary.anomalies, cut={"late": 3}))
    assert not cut.ok
    assert cut.events_cut == 3
    assert '"events_cut": 3' in cut.to_json() and '"ok": false' in cut.to_json()
