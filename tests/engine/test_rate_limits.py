"""No arrival rate makes the engine spin: any rate yields, and a stop is always honoured.

The configuration accepts rates up to a million a second; the engine is tested beyond
that, with settings built past the loader's checks, so it is safe for any value.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import trio
import trio.testing
from conftest import make_engine, run_to_end, settings_for, subprocess_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthpay.config.settings import Settings

#: Rates whose gap rounds to nothing beside epoch milliseconds, overflows, or underflows.
EXTREME_RATES = [1e6, 1e9, 1e308, 5e-324]


def continuous(rate: float, arrivals: str, **extra: object) -> Settings:
    """A continuous null-sink run at ``rate``, whatever the loader would say of it."""
    checked = settings_for(None, {"run.sink": "null", "run.mode": "continuous", "run.arrivals": arrivals, **extra})
    return replace(checked, run=replace(checked.run, rate=rate))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("arrivals", ["constant", "poisson"])
@pytest.mark.parametrize("rate", EXTREME_RATES)
async def test_a_stop_ends_a_run_at_any_rate(
    autojump_clock: trio.testing.MockClock, rate: float, arrivals: str
) -> None:
    engine = make_engine(continuous(rate, arrivals))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(engine.run)
        await engine.ready.wait()
        await trio.sleep(2)  # virtual seconds: the scheduler has to yield for this task to wake
        engine.request_stop()
    assert engine.stopping.is_set() and engine.stats.started >= 1


@pytest.mark.timeout(300)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rate=st.floats(min_value=0, max_value=1.7e308, allow_nan=False, allow_infinity=False),
    arrivals=st.sampled_from(["constant", "poisson"]),
)
def test_a_run_with_a_duration_ends_at_any_rate(rate: float, arrivals: str) -> None:
    summary = run_to_end(make_engine(continuous(rate, arrivals, **{"run.duration_s": 0.01})))
    assert summary.ok and summary.payments_cut == 0
    assert summary.payments_started >= (1 if rate else 100)  # at rate 0 the workers set the pace


async def test_constant_arrivals_beyond_a_millisecond_count_every_one_as_backlog(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Ten million a second with one worker: each virtual millisecond adds ten thousand to the backlog."""
    engine = make_engine(continuous(1e7, "constant", **{"run.workers": 1, "run.duration_s": 0.5}))
    summary = await engine.run()
    # Stopped admitting at 500 ms: 5,000,001 arrivals by then, and every payment started was one.
    backlog = engine.snapshot().backlog
    assert backlog is not None and backlog + summary.payments_started == 5_000_001


@pytest.mark.parametrize("clock", ["real", "virtual"])
@pytest.mark.parametrize("rate", ["1000000", "1_000_000"])
def test_sigterm_stops_the_cli_at_a_huge_rate(tmp_path: Path, rate: str, clock: str) -> None:
    grace = 2.0
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "synthpay",
            "run",
            "--rate",
            rate,
            "--arrivals",
            "constant",
            "--clock",
            clock,
            "--payments",
            "0",
            "--sink",
            "null",
            "--shutdown-grace",
            str(grace),
            "--log-level",
            "info",
        ],
        cwd=tmp_path,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if '"run_start"' in line:
            break
    time.sleep(1)  # well into the arrival loop
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=grace + 10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"--rate {rate} ignored SIGTERM") from None
    assert proc.returncode == 0
    assert "DELIVERY" in out
