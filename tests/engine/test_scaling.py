"""Continuous mode, rate control, duration, and runs split across instances and processes."""

from __future__ import annotations

import json
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import START_MS, payment_events, read_avro, run_engine, subprocess_env

from synthpay import config
from synthpay.config.settings import DEFAULT_STATUSES
from synthpay.engine.scheduler import share


def starts(out_dir: Path) -> list[int]:
    """Start time of every payment: its Initiated event minus the Initiated delay (100 ms)."""
    return sorted(r["ts"] - 100 for r in read_avro(out_dir)["payment-initiated"])


def test_constant_rate_starts_exactly_that_many_payments_per_second(tmp_path: Path) -> None:
    summary, out_dir, _ = run_engine(
        tmp_path,
        {
            "run.mode": "continuous",
            "run.rate": 50,
            "run.arrivals": "constant",
            "run.duration_s": 20,
            "run.workers": 10_000,
        },
    )
    assert summary.payments_started == 50 * 20
    assert summary.ok and summary.payments_cut == 0
    gaps = {b - a for a, b in zip(starts(out_dir), starts(out_dir)[1:])}
    assert gaps == {20}  # one payment every 20 ms, on the dot
    assert starts(out_dir)[0] == START_MS


def test_poisson_rate_has_the_right_mean_and_spread(tmp_path: Path) -> None:
    summary, out_dir, _ = run_engine(
        tmp_path,
        {
            "run.mode": "continuous",
            "run.rate": 200,
            "run.duration_s": 60,
            "run.workers": 100_000,
        },
    )
    # 12,000 expected arrivals: Poisson's standard deviation is about 110 (0.9 %).
    assert abs(summary.payments_started - 12_000) < 4 * 110
    gaps = [b - a for a, b in zip(starts(out_dir), starts(out_dir)[1:])]
    # Exponential gaps with a 5 ms mean (whole milliseconds): the standard deviation is
    # about the mean, where constant spacing would have none.
    assert 4.5 < statistics.mean(gaps) < 5.5
    assert statistics.pstdev(gaps) > 4


def test_rate_above_what_the_workers_allow_builds_a_backlog_not_silence(tmp_path: Path) -> None:
    """No coordinated omission: arrivals keep their schedule; the limiter delays the starts."""
    summary, _out_dir, engine = run_engine(
        tmp_path,
        {
            "run.mode": "continuous",
            "run.rate": 100,
            "run.arrivals": "constant",
            "run.duration_s": 10,
            "run.workers": 10,
            "timing": "parallel",
        },
    )
    # Every payment holds a worker for up to 3 s: 10 workers start at most ~4 payments/s.
    assert summary.payments_started < 100
    assert engine._scheduler is not None and engine._scheduler.backlog > 500
    assert summary.ok


def test_duration_stops_a_batch_run_early_and_drains(tmp_path: Path) -> None:
    summary, out_dir, _ = run_engine(tmp_path, {"run.payments": 1_000_000, "run.workers": 50, "run.duration_s": 30})
    assert 0 < summary.payments_started < 1_000_000
    assert summary.payments_completed == summary.payments_started and summary.payments_cut == 0
    assert max(starts(out_dir)) < START_MS + 30_000


@pytest.mark.parametrize(("total", "count"), [(10, 3), (100_000, 7), (2, 5)])
def test_shares_cover_the_total_and_differ_by_at_most_one(total: int, count: int) -> None:
    parts = [share(total, i, count) for i in range(count)]
    assert sum(parts) == total and max(parts) - min(parts) <= 1


def test_instances_generate_disjoint_ids_and_split_the_payments(tmp_path: Path) -> None:
    ids: set[str] = set()
    started = 0
    for index in range(3):
        summary, out_dir, _ = run_engine(
            tmp_path / str(index),
            {
                "run.payments": 1000,
                "run.instance_index": index,
                "run.instance_count": 3,
            },
        )
        files = {p.name for p in out_dir.glob("*.avro")}
        assert f"payment-initiated.part{index}.avro" in files and "payment-initiated.avro" not in files
        mine = set(payment_events({"x": [r for recs in read_avro(out_dir).values() for r in recs if "status" in r]}))
        assert len(mine) == summary.payments_started
        assert all(pid.endswith(f"{index:04x}") for pid in mine)  # the instance tag
        assert not ids & mine
        ids |= mine
        started += summary.payments_started
    assert started == len(ids) == 1000


def test_instance_index_defaults_from_the_indexed_job_and_is_checked() -> None:
    settings = config.load(env={"JOB_COMPLETION_INDEX": "2", "SYNTHPAY_RUN_INSTANCE_COUNT": "3"}, read_files=False)
    assert (settings.run.instance_index, settings.run.instance_count) == (2, 3)
    with pytest.raises(
        config.ConfigError, match=r"JOB_COMPLETION_INDEX = '3' \(environment\): expected a whole number below"
    ):
        config.load(env={"JOB_COMPLETION_INDEX": "3", "SYNTHPAY_RUN_INSTANCE_COUNT": "3"}, read_files=False)


def test_processes_split_the_run_and_merge_one_summary(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "synthpay",
            "run",
            "--payments",
            "3001",
            "--clock",
            "virtual",
            "--seed",
            "5",
            "--processes",
            "2",
            "--out",
            "out",
            "--summary-json",
            "s.json",
        ],
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "s.json").read_text())
    records = read_avro(tmp_path / "out")
    assert sorted(records) == sorted(
        f"{t}.part{i}" for t in [*(f"payment-{s.lower()}" for s, _, _ in DEFAULT_STATUSES), "banks"] for i in range(2)
    )
    by_id = payment_events({k: v for k, v in records.items() if not k.startswith("banks")})
    assert len(by_id) == summary["payments_started"] == 3001
    assert summary["events_total"] == summary["delivered"] == sum(len(v) for v in records.values())
    assert summary["banks_created"] == 2 * 20  # each process has its own banks
    assert proc.stdout.count("| TOTAL") == 4  # one merged set of tables, not one per process
    run_ids = {json.loads(line).get("run_id") for line in proc.stderr.splitlines() if '"run_start"' in line}
    assert len(run_ids) == 1  # both processes carry the same run id


@pytest.mark.slow
def test_memory_stays_flat_in_a_long_continuous_run(tmp_path: Path) -> None:
    """Twenty virtual minutes at 500 payments/s: the peak RSS stops growing once warm.

    Nothing may grow with the number of payments generated (counters, not lists; bounded
    hand-off; no per-payment leftovers), so the peak after the first third stays put.
    """
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "synthpay",
            "run",
            "--mode",
            "continuous",
            "--rate",
            "500",
            "--duration",
            "1200",
            "--clock",
            "virtual",
            "--sink",
            "null",
            "--workers",
            "100000",
            "--summary-interval",
            "0.2",
            "--summary-json",
            "s.json",
        ],
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    progress = [json.loads(line) for line in proc.stderr.splitlines() if '"progress"' in line]
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["payments_started"] > 550_000
    assert len(progress) >= 6, "too few progress lines to see a trend"
    warm = next(p for p in progress if p["started"] >= summary["payments_started"] / 3)
    last = progress[-1]
    print(
        f"peak RSS {warm['peak_rss_mib']} MiB after {warm['started']} payments, "
        f"{last['peak_rss_mib']} MiB after {last['started']}"
    )
    assert last["peak_rss_mib"] <= warm["peak_rss_mib"] * 1.05 + 2


def test_sigterm_to_the_parent_stops_every_process_and_merges(tmp_path: Path) -> None:
    """One signal to the parent reaches each child once: they drain, and one summary comes out."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "synthpay",
            "run",
            "--payments",
            "0",
            "--processes",
            "2",
            "--out",
            "out",
            "--summary-json",
            "s.json",
            "--summary-interval",
            "0.2",
        ],
        cwd=tmp_path,
        env=subprocess_env(**{f"DELAY_{s.upper()}": "50" for s, _, _ in DEFAULT_STATUSES}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        seen_progress = 0
        assert proc.stderr is not None
        while seen_progress < 2 and time.monotonic() < deadline:  # both children are generating
            if '"progress"' in proc.stderr.readline():
                seen_progress += 1
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err[-2000:]
    summary = json.loads((tmp_path / "s.json").read_text())
    lines = [json.loads(line) for line in err.splitlines()]  # whole lines: none spliced with another's
    stops = [line for line in lines if line["event"] == "stopping"]
    assert len(stops) == 2  # each child stopped once: no second signal cut the grace short
    assert summary["payments_cut"] == 0 and summary["payments_started"] > 0
    written = sum(len(v) for v in read_avro(tmp_path / "out").values())
    assert written == summary["delivered"] == summary["events_total"]
    assert out.count("| TOTAL") == 4
