"""A workflow's own delays in a seeded run: each workflow's payments take its delay, the others the status's."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import pytest
from conftest import START, payment_events, read_avro, run_engine
from engine_runs import OWN_DELAYS, load_toml

from synthpay.model.delays import Delay
from synthpay.model.goodness import ks_statistic
from synthpay.summary.document import Summary

CONFIG = (
    f"""
[run]
clock = "virtual"
start = "{START}"
seed = 11
sink = "file"
payments = 20000
workers = 20000
log_level = "warning"

"""
    + OWN_DELAYS
)
OWN = {
    ("Initiated>Failed", "Failed"): Delay("lognormal", (300.0, 900.0)),
    ("Initiated>Validated>Failed", "Failed"): Delay("exponential", (2000.0,)),
    ("Initiated>Validated>Accounted>Failed", "Failed"): Delay("fixed", (5000.0,)),
    ("Initiated>Validated>Accounted>Failed", "Accounted"): Delay("uniform", (100.0, 400.0)),
    ("Initiated>Validated>Accounted>Completed", "Accounted"): Delay("fixed", (1000.0,)),
}


Run = tuple[Summary, dict[tuple[str, str], Counter[int]]]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The run's summary, and per (workflow, status) the delays since the status before."""
    tmp_path = tmp_path_factory.mktemp("own-delays")
    settings = load_toml(tmp_path, CONFIG + f'\n[file]\ndir = "{tmp_path / "out"}"\n')
    summary, out_dir, _ = run_engine(tmp_path, settings=settings)
    gaps: dict[tuple[str, str], Counter[int]] = {}
    for events in payment_events(read_avro(out_dir)).values():
        path = ">".join(e["status"] for e in events)
        for before, after in itertools.pairwise(events):
            gaps.setdefault((path, after["status"]), Counter())[after["ts"] - before["ts"]] += 1
    return summary, gaps


def test_each_workflow_takes_its_own_delay_and_the_others_the_status_s(run: Run) -> None:
    _, gaps = run
    for key, delay in OWN.items():
        histogram = gaps[key]
        n = sum(histogram.values())
        assert n > 2000, key
        if delay.fixed:
            assert set(histogram) == {int(delay.params[0])}, key
        else:
            assert ks_statistic(delay, histogram) <= 1.95 / math.sqrt(n), key


def test_the_summary_reports_a_workflow_s_own_delay_apart_from_the_status_s(run: Run) -> None:
    summary, gaps = run
    failed = summary.delays["Failed"]
    assert failed.configured == Delay("exponential", (2000.0,))
    assert failed.count == sum(gaps["Initiated>Validated>Failed", "Failed"].values())
    own = summary.delays["Failed in Initiated>Failed"]
    assert own.configured == Delay("lognormal", (300.0, 900.0))
    assert own.count == sum(gaps["Initiated>Failed", "Failed"].values())
    assert summary.plan.workflow_delays[2] == {
        "Failed": Delay("fixed", (5000.0,)),
        "Accounted": OWN["Initiated>Validated>Accounted>Failed", "Accounted"],
    }
