"""Process-wide tuning (the collector) belongs to the console script, never to ``main``."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import subprocess_env

from synthpay import cli
from synthpay.config.clocks import profile
from synthpay.config.settings import Clock

# Runs the console script's entry point, then reports how it left the collector.
ENTRY_THEN_REPORT = """
import gc, sys
from synthpay import cli
try:
    cli.entry()
except SystemExit as exc:
    print(exc.code, *gc.get_threshold(), gc.get_freeze_count() > 0)
"""


def test_main_leaves_the_collector_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    before = gc.get_threshold(), gc.get_freeze_count()
    assert cli.main(["run", "--payments", "3", "--clock", "virtual", "--sink", "null"]) == 0
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


@pytest.mark.parametrize("clock", ["virtual", "real"])
def test_the_entry_point_tunes_the_collector_for_the_clock(tmp_path: Path, clock: Clock) -> None:
    argv = ["run", "--payments", "1", "--clock", clock, "--sink", "null", "--log-level", "error"]
    proc = subprocess.run(
        [sys.executable, "-c", ENTRY_THEN_REPORT, *argv],
        cwd=tmp_path,
        env=subprocess_env(**{f"DELAY_{status}": "1" for status in ("INITIATED", "VALIDATED", "ACCOUNTED")}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    thresholds = " ".join(str(n) for n in profile(clock).gc_thresholds)
    assert proc.stdout.splitlines()[-1] == f"0 {thresholds} True"
