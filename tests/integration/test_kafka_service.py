"""Continuous generation and split runs against the real broker: what a consumer sees."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka_support import (
    consume,
    group_by_payment,
    kafka_env,
    run_synthpay,
    services,
    workflows_by_steps,
    write_config,
)

pytestmark = pytest.mark.kafka


def test_continuous_run_holds_its_target_rate(tmp_path: Path) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path)
    run = run_synthpay(
        tmp_path,
        [
            "--config",
            str(cfg),
            "--mode",
            "continuous",
            "--rate",
            "400",
            "--duration",
            "30",
            "--seed",
            "3",
            "--workers",
            "100000",
        ],
        kafka_env(svc),
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    achieved = run.summary["payments_started"] / 30
    print(f"target 400 payments/s, achieved {achieved:.1f} over 30 s")
    assert abs(achieved - 400) / 400 <= 0.02
    assert run.summary["max_lag_ms"] < 1000  # it kept up in real time
    records = consume(svc, list(topics.values()), run.summary["delivered"])
    assert len(records) == run.summary["delivered"] == run.summary["events_total"]


def test_three_instances_produce_the_union_of_ids(tmp_path: Path) -> None:
    """The sharding an Indexed Job uses: each instance its share, ids never collide."""
    svc = services()
    cfg, topics = write_config(tmp_path)
    runs = []
    for index in range(3):
        (tmp_path / str(index)).mkdir()
        args = [
            "--config",
            str(cfg),
            "--payments",
            "1000",
            "--clock",
            "virtual",
            "--seed",
            "9",
            "--instance-index",
            str(index),
            "--instance-count",
            "3",
        ]
        runs.append(run_synthpay(tmp_path / str(index), args, kafka_env(svc)))
    assert [r.returncode for r in runs] == [0, 0, 0]
    assert sorted(r.summary["payments_started"] for r in runs) == [333, 333, 334]
    delivered = sum(r.summary["delivered"] for r in runs)
    records = consume(svc, list(topics.values()), delivered)
    assert len(records) == delivered
    by_id = group_by_payment(records, topics["banks"])
    assert len(by_id) == 1000  # disjoint shares: no id twice, none missing
    allowed = workflows_by_steps()
    for events in by_id.values():
        assert tuple(r.value["status"] for r in sorted(events, key=lambda r: r.value["ts"])) in allowed
    assert len({r.headers["run_id"] for r in records}) == 3
