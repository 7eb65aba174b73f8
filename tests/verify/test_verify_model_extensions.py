"""verify on runs of the opt-in model extensions: a workflow's own delays (in a phase too), amounts, currencies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import START
from engine_runs import OWN_DELAYS

from synthpay.cli import main

CONFIG = (
    """
[run]
payments = 20000
workers = 20000
rate = 2000
seed = 4

[amounts]
distribution = { dist = "lognormal", median = 42.5, p99 = 2400 }
currencies = { EUR = 60, USD = 30, GBP = 10 }

"""
    + OWN_DELAYS
)
PHASE = """
[[phases]]
name = "slow failures"
at_s = 3
duration_s = 4
delay_scale = { Failed = 3 }
"""


@pytest.fixture(autouse=True)
def _here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no config.toml of the checkout's


def _run(tmp_path: Path, text: str) -> Path:
    """A seeded virtual-clock run of ``text`` into the file sink; its summary."""
    (tmp_path / "c.toml").write_text(text)
    out = tmp_path / "out"
    argv = ["run", "--config", "c.toml", "--clock", "virtual", "--start", START, "--out", str(out)]
    assert main([*argv, "--log-level", "warning"]) == 0
    return out / "summary.json"


def _verify(capsys: pytest.CaptureFixture[str], summary: Path) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["verify", str(summary)])
    return code, capsys.readouterr().out


@pytest.mark.parametrize("phase", ["", PHASE], ids=["no-phase", "scaled-in-a-phase"])
def test_verify_passes_a_run_with_workflows_own_delays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], phase: str
) -> None:
    code, out = _verify(capsys, _run(tmp_path, CONFIG + phase))
    assert code == 0, out
    assert "Failed in Initiated>Failed D=" in out


def test_verify_judges_each_workflow_s_own_delays_against_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = _run(tmp_path, CONFIG)
    document = json.loads(summary.read_text())
    del document["plan"]["workflow_delays"]  # as if every workflow took its statuses' delays
    summary.write_text(json.dumps(document))
    code, out = _verify(capsys, summary)
    assert code == 1
    assert "FAIL  delay distributions" in out
