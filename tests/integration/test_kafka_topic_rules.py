"""A topic's retention and timestamp limits against a run's event times, on the real broker."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # type: ignore[attr-defined]
from kafka_support import Run, Services, consume, end_offsets, kafka_env, run_synthpay, services, write_config

pytestmark = pytest.mark.kafka

WEEK_MS = 7 * 86_400_000


def admin(svc: Services) -> AdminClient:
    return AdminClient({"bootstrap.servers": svc.bootstrap})


def create_topic(svc: Services, name: str, partitions: int, config: dict[str, str]) -> None:
    """Create a topic before the run, with topic configs of the test's choosing."""
    client = admin(svc)  # kept alive until the answer is in
    client.create_topics([NewTopic(name, num_partitions=partitions, config=config)])[name].result()


def topic_config(svc: Services, name: str) -> dict[str, str | None]:
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    client = admin(svc)
    config = client.describe_configs([resource])[resource].result()
    return {key: entry.value for key, entry in config.items()}


def existing(svc: Services, topics: dict[str, str]) -> list[str]:
    present = admin(svc).list_topics(timeout=10).topics
    return [name for name in topics.values() if name in present]


def at(offset_s: float) -> str:
    """A --start value ``offset_s`` from now (to the second)."""
    return datetime.fromtimestamp(time.time() + offset_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def errors(run: Run) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.startswith("synthpay: ")]


def test_a_week_long_backfill_is_kept_on_the_topics_it_creates(tmp_path: Path) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path)
    run = run_synthpay(
        tmp_path, ["--config", str(cfg), "--backfill", "7d", "--rate", "0.002", "--log-format", "json"], kafka_env(svc)
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.summary["failed"] == 0 and run.summary["delivered"] == run.summary["events_total"] > 0
    chosen = [r for r in run.log() if r["event"] == "topic_retention"]
    assert len(chosen) == 1 and chosen[0]["retention_ms"] > 2 * WEEK_MS
    retention = topic_config(svc, topics["Initiated"])["retention.ms"]
    assert retention is not None and int(retention) == chosen[0]["retention_ms"]
    time.sleep(12)  # the services' log cleaner checks retention every 5 s
    records = consume(svc, list(topics.values()), run.summary["delivered"])
    assert len(records) == run.summary["delivered"]
    assert min(r.timestamp for r in records) < time.time() * 1000 - WEEK_MS + 86_400_000


def test_an_existing_topic_that_would_delete_the_backfill_refuses_it_before_producing(tmp_path: Path) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path)
    create_topic(svc, topics["Initiated"], 3, {"retention.ms": "60000"})
    run = run_synthpay(tmp_path, ["--config", str(cfg), "--backfill", "7d", "--rate", "0.002"], kafka_env(svc))
    assert run.returncode == 2, run.stderr[-3000:]
    assert len(errors(run)) == 1, run.stderr[-3000:]
    line = errors(run)[0]
    assert topics["Initiated"] in line and "retention.ms = 60000" in line and "--add-config retention.ms=-1" in line
    assert existing(svc, topics) == [topics["Initiated"]]  # nothing created either
    assert end_offsets(svc, [topics["Initiated"]]) == 0


@pytest.mark.parametrize(
    ("bound", "expected"),
    [
        # A rate and a duration: the last event time is known, and past the topic's lead.
        (["--rate", "1", "--duration", "60"], "message.timestamp.after.max.ms = 1000"),
        # Paced by the workers: the last event time is not known, but the first is already ahead.
        (["--payments", "3000"], "open-ended"),
    ],
    ids=["last-event-known", "first-event-ahead"],
)
def test_a_run_ahead_of_after_max_is_refused_before_producing(tmp_path: Path, bound: list[str], expected: str) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path)
    create_topic(svc, topics["Initiated"], 3, {"message.timestamp.after.max.ms": "1000"})
    run = run_synthpay(
        tmp_path, ["--config", str(cfg), "--clock", "virtual", "--start", at(300), *bound], kafka_env(svc)
    )
    assert run.returncode == 2, run.stderr[-3000:]
    assert len(errors(run)) == 1 and expected in errors(run)[0], run.stderr[-3000:]
    assert end_offsets(svc, [topics["Initiated"]]) == 0


def test_records_the_broker_refuses_part_way_stop_the_run_with_one_line(tmp_path: Path) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path)
    create_topic(svc, topics["Initiated"], 3, {"message.timestamp.after.max.ms": "1000"})
    # Starting now, paced by the workers: nothing bounds the event time up front, and the
    # virtual clock soon runs it past the topic's second of lead.
    args = [
        "--config",
        str(cfg),
        "--clock",
        "virtual",
        "--start",
        at(-2),
        "--payments",
        "200000",
        "--log-format",
        "json",
    ]
    run = run_synthpay(tmp_path, args, kafka_env(svc))
    assert run.returncode == 1, run.stderr[-3000:]
    assert len(errors(run)) == 1, run.stderr[-3000:]
    assert "message.timestamp.after.max.ms = 1000" in errors(run)[0] and "stopped producing" in errors(run)[0]
    summary = run.summary
    assert summary["ok"] is False and summary["failed"] > 0
    assert summary["payments_started"] < 200_000
    assert summary["delivered"] + summary["failed"] + summary["undelivered"] == summary["events_total"]
    assert summary["delivered"] == end_offsets(svc, list(topics.values()))
    assert not [r for r in run.log() if r["event"] == "delivery_failed"]


def test_topic_config_is_applied_to_the_topics_synthpay_creates(tmp_path: Path) -> None:
    svc = services()
    extra = '[kafka.topic_config]\n"retention.ms" = "-1"\n"max.message.bytes" = "2000000"\n'
    cfg, topics = write_config(tmp_path, extra=extra)
    args = ["--config", str(cfg), "--clock", "virtual", "--start", "2020-01-01T00:00:00Z", "--payments", "20"]
    run = run_synthpay(tmp_path, [*args, "--log-format", "json"], kafka_env(svc))
    assert run.returncode == 0, run.stderr[-3000:]
    config = topic_config(svc, topics["Initiated"])
    assert (config["retention.ms"], config["max.message.bytes"]) == ("-1", "2000000")
    assert topic_config(svc, topics["banks"])["cleanup.policy"] == "compact"
    assert not [r for r in run.log() if r["event"] == "topic_retention"]


@pytest.mark.parametrize(
    ("entry", "key"), [('"retention.ms" = "soon"', "retention.ms"), ('"no.such" = "1"', "no.such")]
)
def test_a_topic_config_the_broker_refuses_is_one_line_and_exit_2(tmp_path: Path, entry: str, key: str) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path, extra=f"[kafka.topic_config]\n{entry}\n")
    run = run_synthpay(tmp_path, ["--config", str(cfg), "--clock", "virtual", "--payments", "20"], kafka_env(svc))
    assert run.returncode == 2, run.stderr[-3000:]
    assert len(errors(run)) == 1 and f"kafka.topic_config.{key}" in errors(run)[0], run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert end_offsets(svc, existing(svc, topics)) == 0


def test_a_log_append_time_topic_is_warned_about_and_written(tmp_path: Path) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path)
    create_topic(svc, topics["Initiated"], 3, {"message.timestamp.type": "LogAppendTime"})
    args = ["--config", str(cfg), "--clock", "virtual", "--start", "2020-01-01T00:00:00Z", "--payments", "20"]
    run = run_synthpay(tmp_path, [*args, "--log-format", "json"], kafka_env(svc))
    assert run.returncode == 0, run.stderr[-3000:]
    warned = [r for r in run.log() if r["event"] == "log_append_time"]
    assert len(warned) == 1 and warned[0]["topics"] == [topics["Initiated"]] and warned[0]["level"] == "warning"
    assert end_offsets(svc, list(topics.values())) == run.summary["delivered"] > 0


def test_a_backfill_older_than_new_topics_accept_is_refused_before_creating_them(tmp_path: Path) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path, extra='[kafka.topic_config]\n"message.timestamp.before.max.ms" = "3600000"\n')
    run = run_synthpay(tmp_path, ["--config", str(cfg), "--backfill", "1d", "--rate", "0.002"], kafka_env(svc))
    assert run.returncode == 2, run.stderr[-3000:]
    assert len(errors(run)) == 1, run.stderr[-3000:]
    assert (
        "message.timestamp.before.max.ms = 3600000 (1h)" in errors(run)[0] and "[kafka.topic_config]" in errors(run)[0]
    )
    assert existing(svc, topics) == []
