"""The live display's content, when it is shown, and how the engine drives it."""

from __future__ import annotations

import io
from dataclasses import replace
from types import TracebackType
from typing import Any

import pytest
import trio.testing
from conftest import settings_for
from rich.console import Console

from synthpay.engine.engine import Engine
from synthpay.engine.identity import resolve_identity
from synthpay.engine.snapshot import Backfill, Snapshot
from synthpay.services.logs import make_logger
from synthpay.services.progress import Display, Rates, display, render
from synthpay.sinks.registry import load_registry

FIGURES = Snapshot(
    events=4200,
    emitted={},
    produced={},
    delivered={},
    failed={},
    produced_total=4100,
    delivered_total=4000,
    failed_total=0,
    in_flight=500,
    started=1500,
    completed=1000,
    io_busy=False,
    lag_max_ms=12,
    elapsed_s=75.4,
    target_rate=0.0,
    achieved_rate=20.04,
)


RATES = Rates(1234.4, 50.0)


def text(payments: int, now: Snapshot = FIGURES, rates: Rates = RATES) -> str:
    console = Console(file=io.StringIO(), width=160, color_system=None)
    with console.capture() as captured:
        console.print(render(now, rates, payments))
    return captured.get()


def test_batch_bar_shows_progress_throughput_and_eta() -> None:
    bar, throughput = text(2000).splitlines()
    # Without colours the part still to go is blank.
    assert bar == "━" * 16 + " " * 16 + "   50%  completed 1,000/2,000  started 1,500  in flight 500"
    assert throughput.split() == [
        "1,234",
        "events/s",
        "delivered",
        "4,000/4,100",
        "produced",
        "failed",
        "0",
        "elapsed",
        "0:01:15",
        "ETA",
        "0:00:20",
    ]


def test_eta_is_unknown_until_payments_complete() -> None:
    assert "ETA --:--" in text(2000, rates=Rates(100.0, 0.0))


def test_continuous_status_line_shows_rate_against_target_and_lag() -> None:
    assert "● running  started 1,500  rate 20.0/s (target unlimited)  lag max 12 ms  in flight 500" in text(0)
    assert "(target 25.0/s)" in text(0, replace(FIGURES, target_rate=25.0))
    assert "ETA" not in text(0)


def test_the_status_line_of_a_backfill_says_how_far_it_has_come_then_that_it_is_live() -> None:
    assert "● backfill 45%  started" in text(0, replace(FIGURES, backfill=Backfill(False, 0.452, 0)))
    assert "● live  started" in text(0, replace(FIGURES, backfill=Backfill(True, 1.0, 0)))


def test_after_a_stop_the_status_line_says_draining_not_running() -> None:
    assert "● draining  started" in text(0, replace(FIGURES, draining=True))
    assert "● draining  started" in text(0, replace(FIGURES, draining=True, backfill=Backfill(True, 1.0, 0)))
    assert "running" not in text(0, replace(FIGURES, draining=True))


def test_after_a_stop_the_bar_says_draining() -> None:
    assert "draining  completed 1,000/2,000" in text(2000, replace(FIGURES, draining=True))
    assert "draining" not in text(2000)


@pytest.mark.parametrize("payments", [0, 2000])
def test_the_phase_in_force_is_shown_with_phases_only(payments: int) -> None:
    assert "phase outage  " in text(payments, replace(FIGURES, phase="outage"))
    assert "phase (outside)  " in text(payments, replace(FIGURES, phase=""))
    assert "phase" not in text(payments)


def terminal() -> Console:
    return Console(file=io.StringIO(), force_terminal=True)


@pytest.mark.parametrize(
    ("console", "overrides"),
    [
        (None, {}),
        (Console(file=io.StringIO()), {}),
        (terminal(), {"run.instance_count": 2}),
    ],
)
def test_no_display(console: Console | None, overrides: dict[str, Any]) -> None:
    assert display(console, settings_for(overrides=overrides)) is None


def test_a_display_on_a_terminal() -> None:
    assert isinstance(display(terminal(), settings_for()), Display)


class Recorder:
    """Stands in for the display: records what the engine does with it."""

    period_s = 0.5

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.completed: list[int] = []

    def __enter__(self) -> Recorder:
        self.calls.append("enter")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.calls.append("exit")

    def show(self, snapshot: Any) -> None:
        self.calls.append("show")
        self.completed.append(snapshot.completed)


async def test_the_engine_redraws_the_display_while_generating(autojump_clock: trio.testing.MockClock) -> None:
    settings = settings_for(overrides={"run.clock": "real", "run.sink": "null", "run.payments": 200, "run.workers": 10})
    recorder = Recorder()
    engine = Engine(
        settings,
        make_logger("warning", stream=io.StringIO()),
        display=recorder,
        sink=load_registry(settings.plugins).sink(settings.run.sink),
        identity=resolve_identity(settings.run),
    )
    summary = await engine.run()
    assert recorder.calls[0] == "enter" and recorder.calls[-1] == "exit"
    assert recorder.calls.count("show") > 10
    assert recorder.completed == sorted(recorder.completed) and 0 < recorder.completed[-1] <= summary.payments_completed
