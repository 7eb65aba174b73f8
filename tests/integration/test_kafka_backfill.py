"""Backfills into the real broker, default time rules: the seam to live, and every shipped scenario kept."""

from __future__ import annotations

import itertools
import signal
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from conftest import REPO_DIR
from kafka_support import (
    Record,
    Run,
    Started,
    consume,
    finish,
    group_by_payment,
    kafka_env,
    services,
    start_synthpay,
    verify_run,
    workflows_by_steps,
)

from synthpay.config.settings import DEFAULT_STATUSES

pytestmark = pytest.mark.kafka

RATE = 100.0
LIVE_S = 4.0
DELAYS = {name: delay for name, delay, _ in DEFAULT_STATUSES}
#: The broker's log cleaner checks retention every 5 s in scripts/services (every 5 minutes by default).
CLEANER_S = 5.0


def topics_of(run: Run) -> list[str]:
    plan = run.summary["plan"]
    return [*(s["topic"] for s in plan["statuses"].values()), plan["banks_topic"]]


class Seam:
    """A continuous 30 s backfill into Kafka, stopped LIVE_S seconds after it went live, read back."""

    def __init__(self, tmp_path: Path) -> None:
        svc = services()
        prefix = f"seam{uuid.uuid4().hex[:8]}."
        args = ["--backfill", "30s", "--mode", "continuous", "--rate", str(RATE), "--workers", "100000"]
        args += ["--topic-prefix", prefix, "--log-format", "json", "--shutdown-grace", "30"]
        started = start_synthpay(tmp_path, args, kafka_env(svc))
        self.live_ms = self._wait_until_live(started)
        time.sleep(LIVE_S)
        started.signal(signal.SIGTERM)
        self.run = finish(started, timeout=120)
        assert self.run.returncode == 0, self.run.stderr[-3000:]
        self.banks = self.run.summary["plan"]["banks_topic"]
        self.records = consume(svc, topics_of(self.run), self.run.summary["delivered"])

    @staticmethod
    def _wait_until_live(started: Started) -> int:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            live = [r for r in started.log() if r.get("event") == "live"]
            if live:
                return int(datetime.fromisoformat(live[0]["event_time"]).timestamp() * 1000)
            time.sleep(0.1)
        raise AssertionError("the backfill never went live")

    def payments(self) -> dict[str, list[Record]]:
        return group_by_payment(self.records, self.banks)


@pytest.fixture(scope="module")
def seam(tmp_path_factory: pytest.TempPathFactory) -> Seam:
    return Seam(tmp_path_factory.mktemp("seam"))


def test_the_handover_writes_every_event_with_none_failed(seam: Seam) -> None:
    summary = seam.run.summary
    assert summary["ok"] and summary["failed"] == 0 and summary["payments_cut"] == 0
    assert len(seam.records) == summary["delivered"] == summary["events_total"]


def test_starts_per_second_around_the_seam_keep_the_rate(seam: Seam) -> None:
    starts = Counter(r.timestamp // 1000 for r in seam.records if r.headers.get("status") == b"Initiated")
    seam_s = seam.live_ms // 1000
    # No gap and no overlap: every whole second on either side starts about RATE payments
    # (Poisson: five standard deviations either way).
    around = {s: starts[s] for s in range(seam_s - 4, seam_s + 4) if s not in (seam_s, seam_s + 1)}
    assert len(around) == 6
    assert all(abs(count - RATE) <= 5 * RATE**0.5 for count in around.values()), around


def test_every_payment_keeps_its_order_and_delays_across_the_seam(seam: Seam) -> None:
    workflows = workflows_by_steps()
    crossing = 0
    for events in seam.payments().values():
        events.sort(key=lambda r: r.timestamp)
        steps = tuple(r.value["status"] for r in events)
        assert steps in workflows  # whole workflows: the stop drained every payment
        assert [b.timestamp - a.timestamp for a, b in itertools.pairwise(events)] == [DELAYS[s] for s in steps[1:]]
        crossing += events[0].timestamp < seam.live_ms < events[-1].timestamp
    assert crossing > RATE  # about RATE x the mean workflow's length are in flight at the seam


def test_record_timestamps_are_event_times_and_never_ahead_of_the_broker(seam: Seam) -> None:
    assert all(r.timestamp == r.value["ts"] for r in seam.records if r.topic != seam.banks)
    assert max(r.timestamp for r in seam.records) <= time.time() * 1000


SCENARIOS = sorted((REPO_DIR / "synthpay" / "scenarios").glob("*.toml"))


@pytest.fixture(scope="module")
def scenario_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Run]]:
    """Every shipped scenario into Kafka at once, then two log cleaner periods later."""
    svc = services()
    started = {}
    for path in SCENARIOS:
        tmp = tmp_path_factory.mktemp(path.stem)
        # A fortieth of the scenario's traffic (its rates and phases divided as for one of 40
        # instances), on topics of its own; its timeline and event times as shipped.
        args = ["--config", str(path), "--topic-prefix", f"scn{uuid.uuid4().hex[:8]}."]
        args += ["--instance-count", "40", "--instance-index", "0", "--log-format", "json"]
        started[path.stem] = (tmp, start_synthpay(tmp, args, kafka_env(svc)))
    runs = {name: (tmp, finish(run)) for name, (tmp, run) in started.items()}
    time.sleep(2 * CLEANER_S)  # a default 7-day retention would have deleted records dated months ago by now
    return runs


@pytest.mark.parametrize("name", [path.stem for path in SCENARIOS])
def test_a_shipped_scenario_into_kafka_passes_verify_after_the_cleaner_ran(
    scenario_runs: dict[str, tuple[Path, Run]], name: str
) -> None:
    tmp, run = scenario_runs[name]
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.summary["failed"] == 0
    proc = verify_run(tmp, run, kafka_env(services()))
    assert proc.returncode == 0, proc.stdout + proc.stderr
