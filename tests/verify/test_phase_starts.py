"""verify's count of starts per phase: a correct run passes whether or not its workers kept up."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from conftest import settings_for
from engine_runs import _run, verify_written

from synthpay.model.timeline import Phase

RUN_ID = "phase-starts"


def _starts_check_of(tmp_path: Path, workers: int) -> tuple[bool, str]:
    # 200/s, 4,000 payments, a 20 s phase from 10 s on.
    settings = settings_for(
        None, {"run.rate": 200, "run.payments": 4000, "run.workers": workers, "run.sink": "null", "run.run_id": RUN_ID}
    )
    summary, written = _run(dataclasses.replace(settings, phases=(Phase("retry storm", 10, 20),)))
    path = tmp_path / "summary.json"
    path.write_text(summary.to_json())
    check = verify_written(path, written, RUN_ID, phase_headers=True)["phase starts"]
    return check.ok, check.detail


def test_phase_starts_pass_when_the_workers_hold_arrivals_back(tmp_path: Path) -> None:
    # 100 workers start about 20 payments/s of the 200 that arrive: the starts follow the workers.
    ok, detail = _starts_check_of(tmp_path, 100)
    assert ok, detail


def test_phase_starts_are_checked_against_the_target_rate_when_the_workers_keep_up(tmp_path: Path) -> None:
    ok, detail = _starts_check_of(tmp_path, 100_000)
    assert (ok, "(outside) 2003 (expected 2000 +- 180)" in detail) == (True, True), detail
