"""Scenarios: delay distributions, the [[phases]] timeline, workflow names, the arrival curve."""

from __future__ import annotations

import dataclasses
import math
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_DIR, START, START_MS, defaults_only, payment_events, read_avro, run_engine
from engine_runs import load_toml
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from synthpay import cli, config
from synthpay.engine.stats import EngineStats
from synthpay.model import goodness
from synthpay.model.delays import Delay
from synthpay.model.timeline import Phase, Timeline
from synthpay.summary.document import Summary
from synthpay.verify import scenario as scenario_checks

DISTRIBUTIONS = {
    "fixed": Delay("fixed", (250.0,)),
    "uniform": Delay("uniform", (100.0, 300.0)),
    "exponential": Delay("exponential", (400.0,)),
    "lognormal": Delay("lognormal", (800.0, 5000.0)),
    "normal": Delay("normal", (200.0, 150.0)),
}


def ks_statistic(delay: Delay, sample: list[int]) -> float:
    """Largest gap between the sample's CDF and the distribution's, for whole-ms draws."""
    return goodness.ks_statistic(delay, Counter(sample))


# --- distributions


@pytest.mark.parametrize("name", [n for n in DISTRIBUTIONS if n != "fixed"])
def test_draws_follow_the_distribution(name: str) -> None:
    delay, rng = DISTRIBUTIONS[name], random.Random(7)
    draw = delay.table().draw
    sample = [draw(rng) for _ in range(20_000)]
    # 1.63/sqrt(n) is the 1% critical value of the Kolmogorov-Smirnov statistic.
    assert ks_statistic(delay, sample) < 1.63 / math.sqrt(len(sample))


def test_fixed_draws_no_random_number() -> None:
    rng = random.Random(1)
    state = rng.getstate()
    assert DISTRIBUTIONS["fixed"].table().draw(rng) == 250
    assert rng.getstate() == state


@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_draws_stay_inside_the_support(name: str) -> None:
    delay, rng = DISTRIBUTIONS[name], random.Random(3)
    low, high = delay.support()
    draw = delay.table().draw
    assert all(low <= draw(rng) <= high for _ in range(5000))


def test_lognormal_is_set_by_median_and_p99() -> None:
    delay = DISTRIBUTIONS["lognormal"]
    assert delay.quantile(0.5) == pytest.approx(800.0)
    assert delay.quantile(0.99) == pytest.approx(5000.0)


def test_normal_is_truncated_not_clamped_at_zero() -> None:
    delay, rng = Delay("normal", (50.0, 200.0)), random.Random(5)
    draw = delay.table().draw
    sample = [draw(rng) for _ in range(20_000)]
    # Clamping would put about 40% of the draws at 0.
    assert sample.count(0) < 0.01 * len(sample)
    assert ks_statistic(delay, sample) < 1.63 / math.sqrt(len(sample))


@given(st.sampled_from(list(DISTRIBUTIONS)), st.floats(0.1, 10.0), st.floats(0.01, 0.99))
@hsettings(max_examples=200, deadline=None)
def test_scaled_quantile_is_the_quantile_scaled(name: str, factor: float, p: float) -> None:
    delay = DISTRIBUTIONS[name]
    assert delay.scaled(factor).quantile(p) == pytest.approx(delay.quantile(p) * factor)


# --- configuration


@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_a_status_takes_each_distribution(tmp_path: Path, name: str) -> None:
    delay = DISTRIBUTIONS[name]
    params = ", ".join(f"{k} = {v}" for k, v in delay.describe().items() if k != "dist")
    settings = load_toml(tmp_path, f'[statuses]\nAccounted = {{ delay = {{ dist = "{name}", {params} }} }}\n')
    status = settings.statuses["Accounted"]
    assert (status.delay_ms, status.delay) == ((250, None) if name == "fixed" else (round(delay.quantile(0.5)), delay))


def test_delay_ms_still_means_fixed(tmp_path: Path) -> None:
    status = load_toml(tmp_path, "[statuses]\nAccounted = { delay_ms = 70 }\n").statuses["Accounted"]
    assert (status.delay_ms, status.delay) == (70, None)


def test_delay_env_replaces_a_distribution_with_a_fixed_delay(tmp_path: Path) -> None:
    settings = load_toml(
        tmp_path,
        '[statuses]\nAccounted = { delay = { dist = "exponential", mean_ms = 9 } }\n',
        {"DELAY_ACCOUNTED": "12"},
    )
    assert (settings.statuses["Accounted"].delay_ms, settings.statuses["Accounted"].delay) == (12, None)


def test_workflow_name_defaults_to_its_steps() -> None:
    assert [wf.name for wf in defaults_only().workflows][:2] == ["Initiated>Failed", "Initiated>Rejected"]


def test_workflow_takes_a_name(tmp_path: Path) -> None:
    settings = load_toml(tmp_path, '[[workflows]]\nname = "quick fail"\nsteps = ["Initiated", "Failed"]\n')
    assert settings.workflows[0].name == "quick fail"


PHASES = """
[run]
rate = 100
[[phases]]
name = "b"
at_s = 100
duration_s = 50
[[phases]]
name = "a"
at_s = 10
duration_s = 20
rate = 5
rate_end = 50
weights = { "Initiated>Failed" = 30 }
delay_scale = { Validated = 2.5 }
"""


def test_phases_are_read_and_sorted_by_start(tmp_path: Path) -> None:
    phases = load_toml(tmp_path, PHASES).phases
    assert [p.name for p in phases] == ["a", "b"]
    a = phases[0]
    assert (a.at_s, a.duration_s, a.rate, a.rate_end) == (10, 20, 5, 50)
    assert dict(a.weights or {}) == {"Initiated>Failed": 30}
    assert dict(a.delay_scale or {}) == {"Validated": 2.5}
    assert (phases[1].rate, phases[1].rate_end, phases[1].weights, phases[1].delay_scale) == (None, None, None, None)


def test_arrival_curve_from_the_environment(tmp_path: Path) -> None:
    curve = ",".join(["1"] * 12 + ["2"] * 12)
    settings = load_toml(tmp_path, "[run]\nrate = 10\n", {"SYNTHPAY_RUN_ARRIVAL_CURVE": curve})
    assert settings.run.arrival_curve == (1.0,) * 12 + (2.0,) * 12


LOGNORMAL = '[statuses]\nAccounted = { delay = { dist = "lognormal", median_ms = 800, p99_ms = 5000 } }\n'
# (id, config text, the error line)
BAD = [
    (
        "unknown-dist",
        '[statuses]\nAccounted = { delay = { dist = "gamma", mean_ms = 5 } }\n',
        "statuses.Accounted.delay.dist = 'gamma' (c.toml): expected one of fixed, uniform, exponential, lognormal, "
        "normal",
    ),
    (
        "missing-parameter",
        '[statuses]\nAccounted = { delay = { dist = "lognormal", median_ms = 800 } }\n',
        "statuses.Accounted.delay.p99_ms (c.toml): missing; expected a value",
    ),
    (
        "negative-parameter",
        '[statuses]\nAccounted = { delay = { dist = "exponential", mean_ms = -3 } }\n',
        "statuses.Accounted.delay.mean_ms = -3 (c.toml): expected a number from 0 to 86_400_000",
    ),
    (
        "zero-mean",
        '[statuses]\nAccounted = { delay = { dist = "exponential", mean_ms = 0 } }\n',
        "statuses.Accounted.delay.mean_ms = 0 (c.toml): expected mean_ms > 0",
    ),
    (
        "p99-below-median",
        '[statuses]\nAccounted = { delay = { dist = "lognormal", median_ms = 800, p99_ms = 50 } }\n',
        "statuses.Accounted.delay.p99_ms = 50 (c.toml): expected p99_ms > median_ms",
    ),
    (
        "max-below-min",
        '[statuses]\nAccounted = { delay = { dist = "uniform", min_ms = 8, max_ms = 5 } }\n',
        "statuses.Accounted.delay.max_ms = 5 (c.toml): expected max_ms >= min_ms",
    ),
    (
        "zero-stddev",
        '[statuses]\nAccounted = { delay = { dist = "normal", mean_ms = 8, stddev_ms = 0 } }\n',
        "statuses.Accounted.delay.stddev_ms = 0 (c.toml): expected stddev_ms > 0",
    ),
    (
        "parameter-of-another-dist",
        '[statuses]\nAccounted = { delay = { dist = "fixed", mean_ms = 5 } }\n',
        "c.toml: unknown setting 'statuses.Accounted.delay.mean_ms' for dist = 'fixed'; accepted here: dist, ms",
    ),
    (
        "delay-not-a-table",
        "[statuses]\nAccounted = { delay = 5 }\n",
        "statuses.Accounted.delay = 5 (c.toml): expected a table such as "
        '{ dist = "lognormal", median_ms = 800, p99_ms = 5000 }',
    ),
    (
        "both-delays",
        '[statuses]\nAccounted = { delay_ms = 5, delay = { dist = "fixed", ms = 5 } }\n',
        "statuses.Accounted (c.toml): both delay_ms and delay are set; expected one of them",
    ),
    (
        "duplicate-workflow-name",
        '[[workflows]]\nname = "x"\nsteps = ["Initiated"]\n'
        '[[workflows]]\nname = "x"\nsteps = ["Initiated", "Failed"]\n',
        "workflows[1].name = 'x' (c.toml): expected a name no other workflow has",
    ),
    (
        "phase-without-name",
        "[[phases]]\nat_s = 1\nduration_s = 2\n",
        "phases[0].name (c.toml): missing; expected a value",
    ),
    (
        "phase-duplicate-name",
        '[[phases]]\nname = "p"\nat_s = 1\nduration_s = 2\n[[phases]]\nname = "p"\nat_s = 5\nduration_s = 2\n',
        "phases[1].name = 'p' (c.toml): expected a name no other phase has",
    ),
    (
        "phase-without-at_s",
        '[[phases]]\nname = "p"\nduration_s = 2\n',
        "phases[0] ('p').at_s (c.toml): missing; expected a value",
    ),
    (
        "phase-negative-at_s",
        '[[phases]]\nname = "p"\nat_s = -1\nduration_s = 2\n',
        "phases[0] ('p').at_s = -1 (c.toml): expected a number from 0 to 31_536_000",
    ),
    (
        "phase-zero-duration",
        '[[phases]]\nname = "p"\nat_s = 1\nduration_s = 0\n',
        "phases[0] ('p').duration_s = 0 (c.toml): expected a number above 0 and at most 31_536_000",
    ),
    (
        "phase-negative-rate",
        '[run]\nrate = 5\n[[phases]]\nname = "p"\nat_s = 1\nduration_s = 2\nrate = -4\n',
        "phases[0] ('p').rate = -4 (c.toml): expected a number from 0 to 1_000_000",
    ),
    (
        "phase-negative-rate_end",
        '[run]\nrate = 5\n[[phases]]\nname = "p"\nat_s = 1\nduration_s = 2\nrate_end = -4\n',
        "phases[0] ('p').rate_end = -4 (c.toml): expected a number from 0 to 1_000_000",
    ),
    (
        "phase-rate-without-run-rate",
        '[[phases]]\nname = "p"\nat_s = 1\nduration_s = 2\nrate = 4\n',
        "phases ('p').rate is set but run.rate = 0; expected a run.rate > 0 (outside phases the run's rate applies)",
    ),
    (
        "phase-weight-names-no-workflow",
        '[[phases]]\nname = "p"\nat_s = 1\nduration_s = 2\nweights = { "Nope" = 1 }\n',
        "phases[0] ('p').weights: 'Nope' (c.toml) names nothing; accepted: Initiated>Failed, Initiated>Rejected, "
        "Initiated>Validated>Failed, Initiated>Validated>Rejected, Initiated>Validated>Accounted>Failed, "
        "Initiated>Validated>Accounted>Completed, Initiated>Validated>Accounted>Canceled, "
        "Initiated>Validated>Accounted>Rejected",
    ),
    (
        "phase-negative-weight",
        '[[phases]]\nname = "p"\nat_s = 1\nduration_s = 2\nweights = { "Initiated>Failed" = -1 }\n',
        "phases[0] ('p').weights.Initiated>Failed = -1 (c.toml): expected a whole number from 0 to 1_000_000",
    ),
    (
        "phase-scale-names-no-status",
        '[[phases]]\nname = "p"\nat_s = 1\nduration_s = 2\ndelay_scale = { Settled = 2 }\n',
        "phases[0] ('p').delay_scale: 'Settled' (c.toml) names nothing; accepted: Initiated, Validated, Accounted, "
        "Completed, Failed, Rejected, Canceled",
    ),
    (
        "phase-negative-scale",
        '[[phases]]\nname = "p"\nat_s = 1\nduration_s = 2\ndelay_scale = { Failed = -2 }\n',
        "phases[0] ('p').delay_scale.Failed = -2 (c.toml): expected a number from 0 to 1_000",
    ),
    (
        "phase-anomaly-unknown-kind",
        '[[phases]]\nname = "p"\nat_s = 1\nduration_s = 2\nanomalies = { lates = 0.1 }\n',
        "phases[0] ('p').anomalies: 'lates' (c.toml) names nothing; accepted: late, duplicate, out_of_order, missing",
    ),
    (
        "phase-anomaly-above-one",
        '[[phases]]\nname = "p"\nat_s = 1\nduration_s = 2\nanomalies = { late = 1.5 }\n',
        "phases[0] ('p').anomalies.late = 1.5 (c.toml): expected a number from 0 to 1",
    ),
    (
        "phase-anomalies-not-a-table",
        '[[phases]]\nname = "p"\nat_s = 1\nduration_s = 2\nanomalies = 0.1\n',
        "phases[0] ('p').anomalies = 0.1 (c.toml): expected a table such as { 'late' = 0.05 }",
    ),
    (
        "phase-unknown-key",
        '[[phases]]\nname = "p"\nat_s = 1\nduration_s = 2\nrate_start = 3\n',
        "c.toml: unknown setting 'phases[0].rate_start'; accepted here: name, at_s, duration_s, rate, rate_end, "
        "weights, delay_scale, anomalies",
    ),
    (
        "overlapping-phases",
        '[[phases]]\nname = "a"\nat_s = 10\nduration_s = 20\n[[phases]]\nname = "b"\nat_s = 25\nduration_s = 5\n',
        "phases (c.toml): 'a' (at_s 10 for 20 s) overlaps 'b' (at_s 25); expected phases one after another",
    ),
    (
        "curve-too-short",
        "[run]\nrate = 5\narrival_curve = [1, 2]\n",
        "run.arrival_curve = [1, 2] (c.toml): expected 24 numbers from 0 to 1_000 (one per hour of day, not all 0), "
        "or empty for a flat rate",
    ),
    (
        "curve-without-rate",
        "[run]\narrival_curve = " + str([1] * 24) + "\n",
        f"run.arrival_curve = {[1] * 24} (c.toml): expected a run.rate > 0 for it to multiply",
    ),
]


@pytest.mark.parametrize(("text", "line"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_scenario_config_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str, line: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text(text)
    code = cli.main(["validate", "--config", "c.toml"])
    err = capsys.readouterr().err
    assert (code, err) == (2, f"synthpay: config error: {line}\n")


# --- the timeline


def test_ramp_rate_is_linear_across_the_phase() -> None:
    timeline = Timeline([Phase("ramp", 10, 100, rate=100, rate_end=1100)], (), 10, 1, START_MS)
    assert timeline.rate_at(START_MS + 5_000) == 10
    assert timeline.rate_at(START_MS + 10_000) == 100
    assert timeline.rate_at(START_MS + 60_000) == pytest.approx(600)
    assert timeline.rate_at(START_MS + 110_000) == 10


def test_phase_rates_are_shared_between_instances() -> None:
    timeline = Timeline([Phase("p", 0, 10, rate=100)], (), 10, 4, START_MS)
    assert (timeline.rate_at(START_MS), timeline.rate_at(START_MS + 20_000)) == (25, 2.5)


def test_arrival_curve_follows_the_hour_of_the_event_clock() -> None:
    curve = [1.0] * 24
    curve[10] = 3.0
    day = START_MS - START_MS % 86_400_000
    timeline = Timeline((), curve, 10, 1, START_MS)
    assert (timeline.rate_at(day + 9.5 * 3_600_000), timeline.rate_at(day + 10.5 * 3_600_000)) == (10, 30)


def test_constant_arrivals_cross_into_a_faster_phase_without_skipping_it() -> None:
    # 1/s outside, 1000/s from 0.5 s: the next arrival after 0 comes 0.5 ms into the phase.
    timeline = Timeline([Phase("fast", 0.5, 10, rate=1000)], (), 1, 1, START_MS)
    assert timeline.next_arrival(START_MS, 1.0) == pytest.approx(START_MS + 500.5)


def test_no_arrival_while_the_rate_is_zero() -> None:
    timeline = Timeline([Phase("off", 0, 10, rate=0)], (), 1, 1, START_MS)
    assert timeline.next_arrival(START_MS, 1.0) == pytest.approx(START_MS + 11_000)


# --- runs


SCENARIO = {
    "run.rate": 200.0,
    "run.payments": 0,
    "run.duration_s": 30.0,
    "run.workers": 100_000,
}


def scenario_run(
    tmp_path: Path, text: str, overrides: dict[str, Any] | None = None
) -> tuple[Summary, dict[str, list[dict[str, Any]]]]:
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "c.toml"
    path.write_text(text)
    values: dict[str, Any] = {
        "run.clock": "virtual",
        "run.start": START,
        "run.seed": 3,
        "run.sink": "file",
        "run.log_level": "warning",
        "file.dir": str(tmp_path / "out"),
        **SCENARIO,
        **(overrides or {}),
    }
    settings = config.load(config_path=str(path), env={}, flags=values, cwd=tmp_path)
    summary, out_dir, _ = run_engine(tmp_path, settings=settings)
    return summary, payment_events(read_avro(out_dir))


PHASED = """
[statuses]
Accounted = { delay = { dist = "lognormal", median_ms = 800, p99_ms = 5000 } }
[[phases]]
name = "outage"
at_s = 10
duration_s = 10
rate = 100
weights = { "Initiated>Failed" = 1000 }
delay_scale = { Failed = 3 }
"""


def test_a_phase_sets_starts_mix_and_delays(tmp_path: Path) -> None:
    summary, by_id = scenario_run(tmp_path, PHASED)
    rows = {row.name: row for row in summary.phases}
    assert rows["outage"].started == pytest.approx(1000, abs=4 * math.sqrt(1000))
    assert rows[""].started == pytest.approx(4000, abs=4 * math.sqrt(4000))
    assert rows["outage"].mix["Initiated>Failed"] > 0.95
    phase_start, phase_end = START_MS + 10_000, START_MS + 20_000
    failed = 0
    for events in by_id.values():
        if [e["status"] for e in events] == ["Initiated", "Failed"]:
            started = events[0]["ts"] - 100
            gap = events[1]["ts"] - events[0]["ts"]
            assert gap == (3000 if phase_start <= started < phase_end else 1000)
            failed += 1
    assert failed > 0


def test_phase_events_add_up_to_the_payment_events(tmp_path: Path) -> None:
    summary, by_id = scenario_run(tmp_path, PHASED)
    assert sum(row.events for row in summary.phases) == sum(len(e) for e in by_id.values())


def test_a_seeded_scenario_run_is_reproducible(tmp_path: Path) -> None:
    first = scenario_run(tmp_path / "a", PHASED)[1]
    second = scenario_run(tmp_path / "b", PHASED)[1]
    assert first == second


@pytest.mark.parametrize("timing", ["sequential", "parallel"])
def test_drawn_delays_count_by_timing(tmp_path: Path, timing: str) -> None:
    text = '[statuses]\nValidated = { delay = { dist = "uniform", min_ms = 100, max_ms = 5000 } }\n'
    _, by_id = scenario_run(tmp_path, text, {"timing": timing, "run.duration_s": 5.0})
    orders = Counter(tuple(e["status"] for e in events) for events in by_id.values())
    # Sequential keeps workflow order; parallel counts every delay from the start, so a long
    # Validated comes after a short final status (Failed at 1000 ms) in about 80% of payments.
    late = orders[("Initiated", "Failed", "Validated")]
    assert (late == 0) if timing == "sequential" else (late > 0)


def test_realized_delays_are_reported_next_to_the_configured(tmp_path: Path) -> None:
    summary, _ = scenario_run(tmp_path, PHASED)
    accounted = summary.delays["Accounted"]
    assert accounted.configured == Delay("lognormal", (800.0, 5000.0))
    assert accounted.p50_ms == pytest.approx(800, rel=0.1)
    assert summary.delays["Initiated"].p99_ms == 100


def test_default_run_reports_no_phases_or_delays(tmp_path: Path) -> None:
    summary, _, _ = run_engine(tmp_path, {"run.payments": 200})
    assert (summary.phases, summary.delays) == ((), {})


# --- verify's scenario checks (the records come from a run's summary and Kafka in
# test_scenarios_kafka; here the checks themselves)


def verify_plan(tmp_path: Path) -> scenario_checks.ScenarioPlan:
    summary, _ = scenario_run(tmp_path, PHASED, {"run.duration_s": 2.0})
    plan = scenario_checks.scenario_plan(summary, list(summary.plan.statuses))
    assert plan is not None
    return plan


def test_verify_flags_a_delay_outside_the_support(tmp_path: Path) -> None:
    plan = verify_plan(tmp_path)
    tally = scenario_checks.ScenarioTally.empty()
    index = {name: i for i, name in enumerate(["Initiated", "Validated", "Accounted", "Completed", "Failed"])}
    # Failed is fixed at 1000 ms outside the phase: 999 is outside its support.
    scenario_checks.classify(plan, tally, "p1", 0, {index["Initiated"]: 100, index["Failed"]: 1099})
    assert tally.outside.shown == ["p1 999 ms before status #4"]


def test_verify_flags_a_workflow_its_phase_forbids(tmp_path: Path) -> None:
    plan = verify_plan(tmp_path)
    phases = list(plan.phases)
    phases[1] = dataclasses.replace(phases[1], weights=(0, *phases[1].weights[1:]))
    plan = dataclasses.replace(plan, phases=tuple(phases))
    tally = scenario_checks.ScenarioTally.empty()
    assert scenario_checks.classify(plan, tally, "p1", 1, {0: 100, 4: 3100}) == "complete"
    assert tally.forbidden.shown == ["p1 Initiated>Failed in phase 'outage'"]


@pytest.mark.parametrize("name", sorted(p.stem for p in (REPO_DIR / "synthpay" / "scenarios").glob("*.toml")))
def test_shipped_scenario_runs_as_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.chdir(tmp_path)
    # As shipped but for its length: the first 20 s of its timeline.
    code = cli.main(["run", "--scenario", name, "--sink", "null", "--duration", "20", "--log-level", "error"])
    assert code == 0


def test_lag_percentile_since_counts_only_the_later_events() -> None:
    stats = EngineStats(["t"], ["w"])
    stats.record_lag(50, 100)
    before = list(stats.lag_counts)
    stats.record_lag(2, 100)
    assert (stats.lag_percentile(0.99), stats.lag_percentile(0.99, before)) == (50, 2)
