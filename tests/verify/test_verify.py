"""`synthpay verify`: bad usage exits 2; against the broker it passes a clean run and catches tampering."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from conftest import run_engine, subprocess_env
from kafka_support import (
    Run,
    Services,
    closed_port,
    kafka_env,
    not_a_registry,
    run_synthpay,
    services,
    verify_run,
    write_config,
)

from synthpay.summary.document import PartitionRange
from synthpay.verify.consume import falls_short


def verify_cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "synthpay", "verify", *args],
        cwd=cwd,
        env=subprocess_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("manifest", "args", "env", "message"),
    [
        (
            None,
            [],
            {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"},
            "synthpay: error: summary 's.json': cannot read: No such file or directory",
        ),
        (
            "{not json",
            [],
            {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"},
            "synthpay: error: summary 's.json': not JSON: "
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        (
            '{"run_id": "x"}',
            [],
            {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"},
            "synthpay: error: summary 's.json': "
            "not a synthpay run summary (seed: missing); write one with `synthpay run --summary-json PATH`",
        ),
        (
            "{}",
            ["--timeout", "0"],
            {},
            "synthpay: error: argument --timeout: expected a number of seconds > 0, "
            "got '0' (see synthpay verify --help)",
        ),
    ],
    ids=["missing", "not-json", "no-plan", "bad-timeout"],
)
def test_bad_usage_is_one_line_and_exit_2(
    tmp_path: Path, manifest: str | None, args: list[str], env: dict[str, str], message: str
) -> None:
    if manifest is not None:
        (tmp_path / "s.json").write_text(manifest)
    proc = verify_cli(tmp_path, "s.json", *args, **env)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", message + "\n")


@pytest.mark.kafka
def test_catches_duplicates_foreign_and_garbled_records(tmp_path: Path) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path)
    run = run_synthpay(tmp_path, ["--config", str(cfg), "--payments", "200", "--clock", "virtual"], kafka_env(svc))
    assert run.returncode == 0, run.stderr[-2000:]
    assert verify_run(tmp_path, run, kafka_env(svc)).returncode == 0

    # Copy one Completed record (a duplicate), then add another run's record and a garbled one.
    consumer = Consumer(
        {"bootstrap.servers": svc.bootstrap, "group.id": "verify-test", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topics["Completed"]])
    msg = None
    while msg is None or msg.error():
        msg = consumer.poll(10)
    consumer.close()
    producer = Producer({"bootstrap.servers": svc.bootstrap})
    headers, value = msg.headers(), msg.value()
    assert value is not None
    producer.produce(topics["Completed"], value, msg.key(), headers=headers)
    producer.produce(topics["Completed"], value, b"other", headers=[("run_id", b"another-run")])
    # Garbage under the run's own schema id: id 1 may be any format's in a registry the tests share.
    producer.produce(topics["Failed"], value[:5] + b"garbage", b"k", headers=headers)
    assert producer.flush(30) == 0

    report = verify_run(tmp_path, run, kafka_env(svc))
    assert report.returncode == 1
    lines = {line.split(":")[0]: line for line in report.stdout.splitlines() if line[:4] in ("PASS", "FAIL")}
    assert lines["FAIL  counts"].count("(1 of other runs ignored)") == 1
    assert lines["FAIL  duplicates"].startswith("FAIL  duplicates: 1 (id, status)")
    assert lines["FAIL  records"].startswith("FAIL  records: 1 records")
    assert lines["PASS  workflows"] and lines["PASS  banks"] and lines["PASS  schemas"]
    key = msg.key()
    assert key is not None and f"{key.decode()} Completed" in report.stdout
    assert json.loads(run.summary_path.read_text())["plan"]["timing"] == "sequential"  # type: ignore[union-attr]


def test_a_setting_the_kafka_client_refuses_is_exit_2(tmp_path: Path) -> None:
    summary, _, _ = run_engine(tmp_path, {"run.payments": 3})
    (tmp_path / "s.json").write_text(replace(summary, sink="kafka").to_json())  # a Kafka run's summary
    proc = verify_cli(
        tmp_path,
        "s.json",
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
        KAFKA_SECURITY_PROTOCOL="SSL",
        KAFKA_SSL_CA_LOCATION="/nonexistent.pem",
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.startswith(
        "synthpay: error: kafka.ssl_ca_location = '/nonexistent.pem': rejected by the "
        "Kafka client: Failed to create consumer: ssl.ca.location failed"
    )
    assert proc.stderr.count("\n") == 1


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Services, Path, Run]:
    svc = services()
    tmp = tmp_path_factory.mktemp("small")
    cfg, _ = write_config(tmp)
    run = run_synthpay(tmp, ["--config", str(cfg), "--payments", "20", "--clock", "virtual"], kafka_env(svc))
    assert run.returncode == 0, run.stderr[-2000:]
    return svc, tmp, run


@pytest.mark.kafka
def test_registry_down_is_said_once_and_exit_1(small_run: tuple[Services, Path, Run]) -> None:
    svc, tmp, run = small_run
    url = f"http://127.0.0.1:{closed_port()}"
    report = verify_run(tmp, run, {**kafka_env(svc), "SCHEMA_REGISTRY_ENDPOINT": url}, "--timeout", "5")
    assert (report.returncode, report.stdout) == (1, "")
    assert report.stderr.startswith(f"synthpay: error: verify: schema registry at {url} unreachable: ConnectError")
    assert report.stderr.count("\n") == 1


@pytest.mark.kafka
def test_registry_url_that_is_no_registry_is_exit_2(small_run: tuple[Services, Path, Run]) -> None:
    svc, tmp, run = small_run
    with not_a_registry() as url:
        report = verify_run(tmp, run, {**kafka_env(svc), "SCHEMA_REGISTRY_ENDPOINT": url}, "--timeout", "5")
    assert (report.returncode, report.stdout) == (2, "")
    assert report.stderr == (
        f"synthpay: error: schema_registry.url = {url!r}: not a schema registry API "
        "(it answered HTTP 404 without the registry's error code)\n"
    )


@pytest.mark.parametrize(
    ("marks", "short"),
    [
        ({("a", 0): (0, 3), ("a", 1): (5, 7), ("b", 0): (0, 4)}, False),  # a holds 5, b 4
        ({("a", 0): (0, 3), ("a", 1): (7, 7), ("b", 0): (0, 4)}, True),  # a holds 3 of the 5 delivered
        ({("a", 0): (0, 9), ("a", 1): (0, 0)}, False),  # b is missing: the counts check says so
    ],
    ids=["held", "short", "missing-topic"],
)
def test_watermarks_are_short_of_what_the_run_delivered(
    marks: dict[tuple[str, int], tuple[int, int]], short: bool
) -> None:
    assert falls_short(marks, {"a": 5, "b": 4}, {}) is short


@pytest.mark.parametrize(
    ("marks", "short"),
    [
        ({("a", 0): (5, 5), ("a", 1): (0, 2)}, False),  # every record deleted from partition 0: nothing to wait for
        ({("a", 0): (0, 4), ("a", 1): (0, 2)}, True),  # partition 0 does not reach the run's range yet
    ],
    ids=["deleted", "behind"],
)
def test_watermarks_with_offsets_must_reach_the_run_s_ranges(
    marks: dict[tuple[str, int], tuple[int, int]], short: bool
) -> None:
    ranges = {"a": (PartitionRange(0, 2, 5), PartitionRange(1, 0, 2))}
    assert falls_short(marks, {"a": 5}, ranges) is short
