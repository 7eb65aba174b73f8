"""A backfill whose history ends now, and its handover to the real clock (wall time: a few seconds each)."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from conftest import make_engine, payment_events, read_avro, settings_for

from synthpay.config.settings import DEFAULT_STATUSES, DEFAULT_WORKFLOWS
from synthpay.engine.engine import Engine
from synthpay.engine.snapshot import EngineView
from synthpay.summary.document import Summary

RATE = 200.0
LIVE_S = 3.0
DELAYS = {name: delay for name, delay, _ in DEFAULT_STATUSES}


class Handover:
    """A continuous backfill run, stopped once it has been live for LIVE_S seconds."""

    def __init__(self, tmp_path: Path) -> None:
        self.out = tmp_path / "out"
        settings = settings_for(
            self.out,
            {
                "run.start": "",
                "run.backfill": "20s",
                "run.mode": "continuous",
                "run.rate": RATE,
                "run.workers": 100_000,
                "run.shutdown_grace_s": 0,
            },
        )
        self.engine: Engine = make_engine(settings, services=[self._stop_when_live_long_enough])
        self.live_at_ms = 0
        self.summary: Summary = trio.run(self.engine.run, clock=trio.testing.MockClock(autojump_threshold=0))
        self.ended_wall_ms = time.time_ns() // 1_000_000
        self.records = read_avro(self.out)

    async def _stop_when_live_long_enough(self, engine: EngineView) -> None:
        await engine.ready.wait()
        while (backfill := engine.snapshot().backfill) is None or not backfill.live:
            # Wall time: under the virtual clock a Trio sleep would be jumped over.
            await trio.to_thread.run_sync(time.sleep, 0.01)
        self.live_at_ms = backfill.event_time_ms
        await trio.sleep(LIVE_S)  # real seconds now: the clock is live
        self.engine.request_stop()


@pytest.fixture(scope="module")
def handover(tmp_path_factory: pytest.TempPathFactory) -> Handover:
    return Handover(tmp_path_factory.mktemp("handover"))


def starts_per_second(records: dict[str, list[dict[str, Any]]]) -> Counter[int]:
    return Counter(r["ts"] // 1000 for r in records["payment-initiated"])


def test_the_run_goes_live_after_its_backfill(handover: Handover) -> None:
    first_ms = handover.summary.first_event_ts_ms
    assert first_ms is not None
    # The seam is about now when the backfill caught up: 20 s after the start, plus the
    # wall time the backfill itself took.
    assert 20_000 <= handover.live_at_ms - first_ms < 30_000


def test_no_event_is_stamped_after_the_wall_clock(handover: Handover) -> None:
    latest = max(r["ts"] for events in payment_events(handover.records).values() for r in events)
    assert latest <= handover.ended_wall_ms


def test_starts_per_second_around_the_seam_keep_the_rate(handover: Handover) -> None:
    per_second = starts_per_second(handover.records)
    seam_s = handover.live_at_ms // 1000
    around = [per_second[s] for s in range(seam_s - 3, seam_s + 3) if s != seam_s]
    # Poisson: the standard deviation is sqrt(RATE) ~ 14; 5 of them either side.
    tolerance = 5 * RATE**0.5
    assert len(around) == 5
    assert all(abs(count - RATE) <= tolerance for count in around), around


def test_payment_ids_never_repeat_across_the_seam(handover: Handover) -> None:
    ids = [r["id"] for r in handover.records["payment-initiated"]]
    # Payments cut at the stop before their first event have no record.
    assert len(ids) == len(set(ids)) > handover.summary.payments_started - handover.summary.payments_cut


def test_payments_in_flight_at_the_seam_keep_their_delays(handover: Handover) -> None:
    seam = handover.live_at_ms
    crossing = [
        events for events in payment_events(handover.records).values() if events[0]["ts"] < seam < events[-1]["ts"]
    ]
    assert crossing  # at 200/s with ~4 s workflows, hundreds are in flight at the seam
    workflows = {steps for steps, _ in DEFAULT_WORKFLOWS}
    for events in crossing:
        steps = tuple(e["status"] for e in events)
        assert any(wf[: len(steps)] == steps for wf in workflows)
        gaps = [b["ts"] - a["ts"] for a, b in itertools.pairwise(events)]
        assert gaps == [DELAYS[e["status"]] for e in events[1:]]


def test_lag_is_measured_only_live(handover: Handover) -> None:
    # A backfill has no lag to measure: its events are due in the past by design.
    assert handover.summary.lag_p99_ms is not None
    assert handover.summary.lag_p99_ms < 1_000


def test_a_batch_backfill_ends_its_starts_at_now(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "out", {"run.start": "", "run.backfill": "30s", "run.rate": 50})
    began_ms = time.time_ns() // 1_000_000
    summary: Summary = trio.run(make_engine(settings).run, clock=trio.testing.MockClock(autojump_threshold=0))
    starts = [r["ts"] for r in read_avro(tmp_path / "out")["payment-initiated"]]
    assert summary.ok and summary.payments_started == summary.payments_completed == len(starts)
    assert began_ms - 30_000 <= min(starts) < began_ms - 29_000
    assert began_ms - 1_000 < max(starts) <= time.time_ns() // 1_000_000


def test_a_sparse_batch_backfill_ends_at_now_without_waiting_for_an_arrival_past_it(tmp_path: Path) -> None:
    # One payment every 500 s on average: the arrival after the seam is minutes away, and
    # the quiet stretches leave no bank update in the wheel to end admission sooner.
    settings = settings_for(tmp_path / "out", {"run.start": "", "run.backfill": "1d", "run.rate": 0.002})
    summary: Summary = trio.run(make_engine(settings).run, clock=trio.testing.MockClock(autojump_threshold=0))
    assert summary.ok and summary.payments_started == summary.payments_completed > 0
    assert summary.elapsed_s < 60  # not a speed figure: the next arrival would be minutes of wall time away


def test_a_real_clock_run_ends_at_its_duration_without_waiting_for_an_arrival_past_it(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path / "out", {"run.clock": "real", "run.start": "", "run.rate": 0.002, "run.duration_s": 1}
    )
    summary: Summary = trio.run(make_engine(settings).run)
    assert summary.payments_started == summary.payments_completed == 1  # the first arrival is at the start
    assert summary.elapsed_s < 60  # the second arrival is 500 s away on average
