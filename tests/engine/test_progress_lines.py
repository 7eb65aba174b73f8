"""The log's progress lines: what each carries, with phases and after a stop."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import trio
import trio.testing
from conftest import settings_for

from synthpay.engine.engine import Engine
from synthpay.engine.identity import resolve_identity
from synthpay.model.timeline import Phase
from synthpay.services.logs import make_logger
from synthpay.sinks.registry import load_registry


async def progress_lines(phases: tuple[Phase, ...], stop_after_s: float) -> list[dict[str, Any]]:
    """The progress lines of a continuous null-sink run at 50/s, stopped after ``stop_after_s`` (mock time)."""
    checked = settings_for(
        None,
        {
            "run.clock": "real",
            "run.sink": "null",
            "run.mode": "continuous",
            "run.rate": 50,
            "run.summary_interval_s": 0.1,
            "run.shutdown_grace_s": 600,
        },
    )
    settings = replace(checked, phases=phases)
    stream = io.StringIO()
    engine = Engine(
        settings,
        make_logger("info", stream=stream),
        sink=load_registry(settings.plugins).sink(settings.run.sink),
        identity=resolve_identity(settings.run),
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(engine.run)
        await engine.ready.wait()
        await trio.sleep(stop_after_s)
        engine.request_stop()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in lines if line["event"] == "progress"]


async def test_progress_lines_carry_the_target_rate_and_say_running(autojump_clock: trio.testing.MockClock) -> None:
    lines = await progress_lines((), 1.0)
    running = [line for line in lines if line["state"] == "running"]
    assert len(running) >= 5
    assert {line["target_rate"] for line in running} == {50.0}
    assert lines and not any("phase" in line for line in lines)


async def test_progress_lines_name_the_phase_and_its_target_rate(autojump_clock: trio.testing.MockClock) -> None:
    surge = Phase("surge", at_s=0.5, duration_s=1.0, rate=200.0)
    lines = await progress_lines((surge,), 2.0)
    seen = {(line["phase"], line["target_rate"]) for line in lines if line["state"] == "running"}
    assert {("", 50.0), ("surge", 200.0)} <= seen


async def test_after_a_stop_progress_lines_say_draining_until_the_run_ends(
    autojump_clock: trio.testing.MockClock,
) -> None:
    states = [line["state"] for line in await progress_lines((), 1.0)]
    assert "draining" in states
    first = states.index("draining")
    assert set(states[:first]) == {"running"} and set(states[first:]) == {"draining"}
