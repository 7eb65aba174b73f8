"""fit on 100,000 payments synthpay wrote: the fitted parameters are the generating config's, and the config runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthpay import cli
from synthpay.calibrate import fitted_toml
from synthpay.config.settings import DEFAULT_STATUSES, DEFAULT_WORKFLOWS, Settings

START = "2026-01-31T09:00:00Z"
REALISTIC = """
[run]
rate = 50
workers = 100000

[statuses]
Initiated = { delay = { dist = "uniform", min_ms = 20, max_ms = 200 } }
Validated = { delay = { dist = "lognormal", median_ms = 400, p99_ms = 2500 } }
Accounted = { delay = { dist = "lognormal", median_ms = 800, p99_ms = 4000 } }
Completed = { delay = { dist = "normal", mean_ms = 3000, stddev_ms = 500 } }
Failed = { delay = { dist = "exponential", mean_ms = 800 } }

[anomalies]
missing = 0.02
duplicate = 0.01
out_of_order = 0.01
"""


def _generate_and_fit(tmp_path: Path, capsys: pytest.CaptureFixture[str], *config: str) -> tuple[Settings, Path]:
    argv = ["run", "--clock", "virtual", "--seed", "1", "--start", START, "--payments", "100000", "--out", "gen"]
    assert cli.main([*argv, *config, "--log-level", "warning"]) == 0
    assert cli.main(["fit", "gen", "--out", "fitted.toml", "--json", "report.json"]) == 0
    capsys.readouterr()
    return fitted_toml.load((tmp_path / "fitted.toml").read_text()), tmp_path / "gen"


def _weights(settings: Settings) -> dict[tuple[str, ...], float]:
    total = sum(wf.weight for wf in settings.workflows)
    return {wf.steps: wf.weight / total for wf in settings.workflows}


def test_fit_on_a_default_run_gives_back_its_parameters_and_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    fitted, gen = _generate_and_fit(tmp_path, capsys)
    assert fitted.timing == "sequential"
    for name, delay_ms, _ in DEFAULT_STATUSES[1:]:
        assert fitted.statuses[name].delay is None  # fixed: written as such, read as delay_ms
        assert fitted.statuses[name].delay_ms == delay_ms
    assert fitted.statuses["Initiated"].delay_ms == 0  # its own delay is unobservable
    weights = _weights(fitted)
    assert set(weights) == {steps for steps, _ in DEFAULT_WORKFLOWS}
    for steps, weight in DEFAULT_WORKFLOWS:
        assert weights[steps] == pytest.approx(weight / 18, abs=0.005)
    summary = json.loads((gen / "summary.json").read_text())
    report = json.loads((tmp_path / "report.json").read_text())
    span_s = report["input"]["span_s"]
    assert fitted.run.rate == pytest.approx(summary["payments_started"] / span_s, rel=0.02)
    assert fitted.run.duration_s == pytest.approx(span_s)
    assert (fitted.entities.sources, fitted.entities.destinations) == (10, 10)
    assert fitted.entities.popularity == "uniform"
    assert not fitted.anomalies.enabled
    assert fitted.phases == ()
    again = ["run", "--config", "fitted.toml", "--start", START, "--payments", "2000", "--out", "again"]
    assert cli.main([*again, "--log-level", "warning"]) == 0


def test_fit_on_drawn_delays_and_dirty_data_gives_back_families_and_rates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "realistic.toml").write_text(REALISTIC)
    fitted, _ = _generate_and_fit(tmp_path, capsys, "--config", "realistic.toml")
    statuses = fitted.statuses
    for name, dist, first, last in (
        ("Validated", "lognormal", 400, 2500),
        ("Accounted", "lognormal", 800, 4000),
        ("Completed", "normal", 3000, 500),
        ("Failed", "exponential", 800, 800),
    ):
        delay = statuses[name].delay
        assert delay is not None and delay.dist == dist, name
        assert delay.params[0] == pytest.approx(first, rel=0.03), name
        assert delay.params[-1] == pytest.approx(last, rel=0.05), name
    assert fitted.run.rate == pytest.approx(50, rel=0.02)
    assert fitted.run.arrivals == "poisson"
    assert fitted.anomalies.missing == pytest.approx(0.02, rel=0.15)
    assert fitted.anomalies.duplicate == pytest.approx(0.01, rel=0.1)
    assert fitted.anomalies.out_of_order == pytest.approx(0.01, rel=0.2)
    weights = _weights(fitted)
    assert set(weights) == {steps for steps, _ in DEFAULT_WORKFLOWS}
    completed = ("Initiated", "Validated", "Accounted", "Completed")
    assert weights[completed] == pytest.approx(9 / 18, abs=0.01)
