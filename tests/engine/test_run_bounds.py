"""Accepted inputs that once never ended: runs bounded by their work, not by event time or magnitude.

Each run here is a batch run under the virtual clock; each must end, and what it writes
(bank updates included) must be bounded by its payments.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from conftest import run_engine, settings_for, subprocess_env
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from synthpay import cli
from synthpay.config.settings import Settings
from synthpay.model.delays import Delay
from synthpay.model.timeline import Phase
from synthpay.model.workflow import Status
from synthpay.summary.document import Summary

DAY_MS = 86_400_000
YEAR_S = 31_536_000
# A bank update per payment event is plenty; the runs here once wrote millions per payment.
BANK_UPDATES_PER_EVENT = 4


def _run(tmp_path: Path, overrides: dict[str, Any], **replaced: Any) -> Summary:
    settings = settings_for(tmp_path / "out", {"run.sink": "null", **overrides})
    summary, _, _ = run_engine(tmp_path, settings=dataclasses.replace(settings, **replaced))
    return summary


def _drawn(settings: Settings, status: str, delay: Delay) -> dict[str, Status]:
    statuses = dict(settings.statuses)
    statuses[status] = dataclasses.replace(statuses[status], delay=delay)
    return statuses


@pytest.mark.timeout(60)
def test_a_lognormal_with_an_age_long_tail_ends_and_writes_bank_updates_by_the_work(tmp_path: Path) -> None:
    # Median 0.001 ms, p99 one day: its top levels were ~37,000 years, each a bank update per 3 s.
    base = settings_for(None, {})
    statuses = _drawn(base, "Validated", Delay("lognormal", (0.001, float(DAY_MS))))
    summary = _run(tmp_path, {"run.payments": 300}, statuses=statuses)
    assert summary.payments_completed == 300
    assert summary.bank_updates <= BANK_UPDATES_PER_EVENT * summary.events_total


@pytest.mark.timeout(60)
def test_a_thousandfold_delay_scale_on_day_long_delays_ends(tmp_path: Path) -> None:
    # Every worker held for 1,000 days while 100 arrivals a second pile up behind them.
    base = settings_for(None, {})
    statuses = dict(base.statuses)
    statuses["Validated"] = dataclasses.replace(statuses["Validated"], delay_ms=DAY_MS)
    phase = Phase("slow", 0, 10, delay_scale={"Validated": 1000.0})
    summary = _run(tmp_path, {"run.payments": 300, "run.rate": 100}, statuses=statuses, phases=(phase,))
    assert summary.payments_completed == 300
    assert summary.bank_updates <= BANK_UPDATES_PER_EVENT * summary.events_total


@pytest.mark.timeout(60)
def test_a_year_with_no_arrivals_costs_no_bank_update_per_interval(tmp_path: Path) -> None:
    phase = Phase("off", 1, YEAR_S, rate=0)
    summary = _run(tmp_path, {"run.payments": 100, "run.rate": 10}, phases=(phase,))
    assert summary.payments_completed == 100
    assert summary.bank_updates <= BANK_UPDATES_PER_EVENT * summary.events_total


@pytest.mark.timeout(60)
def test_a_run_whose_arrivals_never_come_ends_with_what_it_started(tmp_path: Path) -> None:
    # The first arrival is at the start; the next is ages past the year 9999.
    summary = _run(tmp_path, {"run.payments": 10, "run.rate": 1, "run.arrival_curve": (1e-300,) * 24})
    assert (summary.payments_started, summary.payments_completed) == (1, 1)


@pytest.mark.timeout(60)
def test_a_year_long_phase_is_summarized_in_bounded_memory(tmp_path: Path) -> None:
    # The summary's target rate once sampled every second of the phase: a year is 31.5 M samples.
    phase = Phase("long", 0, YEAR_S, rate=0, rate_end=0)
    tracemalloc.start()
    try:
        summary = _run(tmp_path, {"run.payments": 20, "run.rate": 1}, phases=(phase,))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (summary.payments_completed, peak < 64 * 2**20) == (20, True)


def test_a_thousand_phases_with_scaled_drawn_delays_cost_memory_by_the_payments(tmp_path: Path) -> None:
    # Each phase scales two drawn delays differently: a quantile table each, once built per phase.
    base = settings_for(None, {})
    statuses = _drawn(base, "Validated", Delay("lognormal", (300.0, 1500.0)))
    statuses = _drawn(dataclasses.replace(base, statuses=statuses), "Accounted", Delay("exponential", (600.0,)))
    phases = tuple(
        Phase(f"p{i}", i * 10, 5, delay_scale={"Validated": 1 + i / 1000, "Accounted": 2 - i / 1000})
        for i in range(1000)
    )
    tracemalloc.start()
    try:
        summary = _run(tmp_path, {"run.payments": 200, "run.rate": 100}, statuses=statuses, phases=phases)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (summary.payments_completed, peak < 64 * 2**20) == (200, True)


def test_more_phases_than_the_most_accepted_are_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    phases = "".join(f'[[phases]]\nname = "p{i}"\nat_s = {i}\nduration_s = 1\n' for i in range(1001))
    (tmp_path / "c.toml").write_text("[run]\nrate = 10\n" + phases)
    code = cli.main(["validate", "--config", "c.toml"])
    err = capsys.readouterr().err
    assert (code, err) == (2, "synthpay: config error: phases (c.toml): 1,001 [[phases]]; expected at most 1,000\n")


_YEAR_OFF = f'[run]\nrate = 10\n[[phases]]\nname = "off"\nat_s = 1\nduration_s = {YEAR_S}\nrate = 0\n'
_TINY_CURVE = "[run]\nrate = 0.001\narrival_curve = [1e-9" + ", 0" * 23 + "]\n"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("clock", ["real", "virtual"])
@pytest.mark.parametrize("toml", [_YEAR_OFF, _TINY_CURVE], ids=["a year without arrivals", "a tiny arrival curve"])
def test_sigterm_stops_a_continuous_run_within_the_grace(tmp_path: Path, toml: str, clock: str) -> None:
    # The summary once rated a phase by sampling each second of it, after the grace was spent.
    grace = 1.0
    (tmp_path / "c.toml").write_text(toml)
    command = [sys.executable, "-m", "synthpay", "run", "--config", "c.toml", "--clock", clock, "--payments", "0"]
    command += ["--sink", "null", "--shutdown-grace", str(grace), "--log-level", "info"]
    proc = subprocess.Popen(command, cwd=tmp_path, env=subprocess_env(), stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if '"run_start"' in line:
            break
    time.sleep(3)  # a year of event time is a few seconds of bank updates under the virtual clock
    proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("SIGTERM ignored") from None
    assert (proc.returncode, time.monotonic() - signalled < grace + 0.5) == (0, True)


# --- property: every accepted numeric setting of distributions, phases and curves ends


_DELAY_MS = st.floats(0.001, float(DAY_MS))


@st.composite
def _delays(draw: st.DrawFn) -> Delay:
    dist = draw(st.sampled_from(["fixed", "uniform", "exponential", "lognormal", "normal"]))
    a, b = sorted((draw(_DELAY_MS), draw(_DELAY_MS)))
    if dist == "fixed":
        return Delay(dist, (float(int(a)),))
    if dist == "uniform":
        return Delay(dist, (a, b))
    if dist == "exponential":
        return Delay(dist, (a,))
    if dist == "lognormal":
        return Delay(dist, (a, b if b > a else a * 2))
    return Delay(dist, (a, b))


_RATES = st.one_of(st.just(0.0), st.floats(1e-300, 1.0), st.floats(1.0, 1_000_000.0))
_CURVE = st.one_of(
    st.just(()),
    st.lists(st.one_of(st.just(0.0), st.floats(1e-300, 1_000.0)), min_size=24, max_size=24).filter(any).map(tuple),
)


@st.composite
def _phases(draw: st.DrawFn) -> tuple[Phase, ...]:
    phases, at = [], 0.0
    for i in range(draw(st.integers(0, 3))):
        at = min(float(YEAR_S), at + draw(st.floats(0, float(YEAR_S))))
        duration = draw(st.floats(0.001, float(YEAR_S)))
        ramp = draw(st.booleans())
        scale = draw(st.floats(0, 1_000))
        phases.append(
            Phase(
                f"p{i}",
                at,
                duration,
                rate=draw(_RATES),
                rate_end=draw(_RATES) if ramp else None,
                delay_scale={"Validated": scale},
            )
        )
        at += duration
    return tuple(phases)


@pytest.mark.timeout(300)
@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(delay=_delays(), rate=st.floats(0.001, 1_000_000.0), curve=_CURVE, phases=_phases())
def test_every_accepted_scenario_ends_with_work_bounded_output(
    tmp_path: Path, delay: Delay, rate: float, curve: tuple[float, ...], phases: tuple[Phase, ...]
) -> None:
    base = settings_for(None, {})
    began = time.monotonic()
    tracemalloc.start()
    try:
        summary = _run(
            tmp_path,
            {"run.payments": 30, "run.rate": rate, "run.arrival_curve": curve},
            statuses=_drawn(base, "Validated", delay),
            phases=phases,
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    seconds = time.monotonic() - began
    assert summary.payments_completed == summary.payments_started <= 30
    assert summary.bank_updates <= BANK_UPDATES_PER_EVENT * max(summary.events_total, 1) + 1
    assert (seconds < 20, peak < 64 * 2**20, math.isfinite(summary.last_event_ts_ms or 0)) == (True, True, True)
