"""A sink that fails part way ends the run with its summary, not an exception."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PLUGIN, START, make_engine, run_to_end, subprocess_env

from synthpay import config
from synthpay.config.settings import Settings


def failing_settings(tmp_path: Path, sink: str) -> Settings:
    (tmp_path / "config.toml").write_text(
        f'plugins = ["{PLUGIN}"]\n[run]\nsink = "{sink}"\npayments = 2000\nclock = "virtual"\n'
        f'start = "{START}"\nseed = 2\nlog_level = "warning"\n[engine]\nbatch_size = 500\n'
    )
    return config.load(env={}, cwd=tmp_path)


@pytest.mark.timeout(120)
def test_a_sink_failing_part_way_still_gives_the_summary(tmp_path: Path) -> None:
    engine = make_engine(failing_settings(tmp_path, "failing"))
    summary = run_to_end(engine)
    assert str(engine.failure) == "test sink: broke at the third batch"
    assert not summary.ok and summary.delivered == 1000  # two batches of 500
    # Every event is accounted for: delivered, or counted as lost.
    assert summary.delivered + summary.failed + summary.undelivered == summary.events_total


@pytest.mark.timeout(120)
def test_a_sink_failing_its_final_flush_still_gives_the_summary(tmp_path: Path) -> None:
    engine = make_engine(failing_settings(tmp_path, "failing-flush"))
    summary = run_to_end(engine)
    assert str(engine.failure) == "test sink: broke at the final flush"
    assert summary.delivered == summary.events_total and summary.payments_completed == 2000


def test_the_cli_prints_the_error_then_the_summary_and_exits_1(tmp_path: Path) -> None:
    failing_settings(tmp_path, "failing")
    done = subprocess.run(
        [sys.executable, "-m", "synthpay", "run", "--summary-json", "s.json"],
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("synthpay:")]
    assert errors == ["synthpay: error: test sink: broke at the third batch"]
    assert "DELIVERY" in done.stdout and "undelivered" in done.stdout
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["delivered"] == 1000 and summary["undelivered"] > 0
