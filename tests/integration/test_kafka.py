"""End to end against the real broker and registry: what a consumer sees."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource  # type: ignore[attr-defined]
from confluent_kafka.schema_registry import Schema
from conftest import avro_schema
from kafka_support import (
    Record,
    Run,
    Services,
    consume,
    end_offsets,
    group_by_payment,
    kafka_env,
    not_a_registry,
    registry,
    run_synthpay,
    services,
    verify_run,
    workflows_by_steps,
    write_config,
)

from synthpay.config.settings import DEFAULT_STATUSES
from synthpay.model import serde

pytestmark = pytest.mark.kafka

DELAYS = {name: delay for name, delay, _ in DEFAULT_STATUSES}
PARTITIONS = {name: parts for name, _, parts in DEFAULT_STATUSES}
START = "2020-01-01T00:00:00Z"
START_MS = 1577836800000


# The services, {status or "banks": topic}, the finished run and every record it produced.
Backfill = tuple[Services, dict[str, str], Run, list[Record]]


@pytest.fixture(scope="module")
def backfill(tmp_path_factory: pytest.TempPathFactory) -> Backfill:
    """One virtual-clock backfill into fresh topics, consumed back in full."""
    svc = services()
    tmp = tmp_path_factory.mktemp("backfill")
    cfg, topics = write_config(tmp)
    run = run_synthpay(
        tmp,
        [
            "--config",
            str(cfg),
            "--payments",
            "3000",
            "--workers",
            "700",
            "--clock",
            "virtual",
            "--seed",
            "11",
            "--start",
            START,
        ],
        kafka_env(svc),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    records = consume(svc, list(topics.values()), run.summary["delivered"])
    return svc, topics, run, records


def test_counts_per_topic_equal_the_summary(backfill: Backfill) -> None:
    _, topics, run, records = backfill
    summary = run.summary
    assert summary["failed"] == 0 and summary["undelivered"] == 0
    assert summary["delivered"] == summary["events_total"] == len(records)
    seen = Counter(r.topic for r in records)
    assert topics.keys() == {*DELAYS, "banks"} and summary["statuses"].keys() == DELAYS.keys()
    for name, topic in topics.items():
        assert seen[topic] == summary["topics"][topic]["delivered"] > 0, name
    for status, count in summary["statuses"].items():
        assert seen[topics[status]] == count


def test_every_payment_is_one_workflow_in_order_with_exact_delays(backfill: Backfill) -> None:
    _, topics, run, records = backfill
    by_id = group_by_payment(records, topics["banks"])
    assert len(by_id) == run.summary["payments_started"] == 3000
    allowed = workflows_by_steps()
    for pid, events in by_id.items():
        events.sort(key=lambda r: r.value["ts"])
        steps = tuple(r.value["status"] for r in events)
        assert steps in allowed, (pid, steps)
        assert len(set(steps)) == len(steps), "duplicate (id, status)"
        assert len(events) > 1
        for before, after in itertools.pairwise(events):
            assert after.value["ts"] - before.value["ts"] == DELAYS[after.value["status"]]
        for r in events:
            assert r.key == r.value["id"] == pid
            assert r.topic == topics[r.value["status"]]
            assert r.headers["status"] == r.value["status"].encode()
            assert r.headers["run_id"] == run.summary["run_id"].encode()


def test_partitions_are_in_event_time_order(backfill: Backfill) -> None:
    _, _, _, records = backfill
    by_partition: dict[tuple[str, int], list[Record]] = {}
    for r in records:
        by_partition.setdefault((r.topic, r.partition), []).append(r)
    assert by_partition
    for rs in by_partition.values():
        rs.sort(key=lambda r: r.offset)
        assert [r.offset for r in rs] == list(range(rs[0].offset, rs[0].offset + len(rs))), "gap or duplicate"
        ts = [r.timestamp for r in rs]
        assert ts == sorted(ts)


def test_keys_pick_the_partition_as_librdkafka_partitions_them(backfill: Backfill) -> None:
    """librdkafka's default partitioner (consistent_random) is CRC-32 of the key modulo the count.

    Guards the positional produce() call in the Kafka sink: an argument in the wrong place
    would send records to a wrong or random partition.
    """
    _, topics, _, records = backfill
    counts = {topics[name]: parts for name, parts in PARTITIONS.items()}
    payments = [r for r in records if r.topic in counts]
    assert payments
    for r in payments:
        assert r.partition == zlib.crc32(r.key.encode()) % counts[r.topic], (r.topic, r.key)


def test_record_timestamps_carry_virtual_event_time(backfill: Backfill) -> None:
    _, topics, _, records = backfill
    assert records
    for r in records:
        if r.topic == topics["banks"]:
            continue
        assert r.timestamp == r.value["ts"]
        assert r.value["date_ts"] == serde.rfc3339_ms(r.value["ts"])
    first = min(r.value["ts"] for r in records if r.topic != topics["banks"])
    assert first == START_MS + DELAYS["Initiated"]


def test_banks_precede_every_reference(backfill: Backfill) -> None:
    _, topics, _, records = backfill
    banks = [r for r in records if r.topic == topics["banks"]]
    created = {r.key: r for r in banks if r.value["version"] == 1}
    assert len(created) == 20
    payments = [r for r in records if r.topic != topics["banks"]]
    assert payments and banks
    first_payment_ts = min(r.timestamp for r in payments)
    assert all(r.timestamp <= first_payment_ts for r in created.values())
    for r in payments:
        assert r.value["source"] in created and r.value["destination"] in created
    versions: dict[str, int] = {}
    for r in sorted(banks, key=lambda r: r.offset):
        assert r.value["version"] == versions.get(r.key, 0) + 1
        versions[r.key] = r.value["version"]


def test_subjects_and_schema_ids(backfill: Backfill) -> None:
    svc, topics, _, records = backfill
    client = registry(svc)
    ids = {r.topic: r.schema_id for r in records}
    assert topics.keys() == {*DELAYS, "banks"}
    for name, topic in topics.items():
        latest = client.get_latest_version(f"{topic}-value")
        assert ids[topic] == latest.schema_id
        expected = avro_schema("bank" if name == "banks" else "payment")
        assert json.loads(str(latest.schema.schema_str)) == expected


def test_topics_created_with_configured_partitions(backfill: Backfill) -> None:
    svc, topics, _, _ = backfill
    admin = AdminClient({"bootstrap.servers": svc.bootstrap})
    meta = admin.list_topics(timeout=10)
    assert topics.keys() == {*DELAYS, "banks"}
    for name, topic in topics.items():
        expected = 1 if name == "banks" else PARTITIONS[name]
        assert len(meta.topics[topic].partitions) == expected, topic
    resource = ConfigResource(ConfigResource.Type.TOPIC, topics["banks"])
    config = admin.describe_configs([resource])[resource].result()
    assert config["cleanup.policy"].value == "compact"


def test_existing_topics_are_reused(tmp_path: Path) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path)
    first = run_synthpay(tmp_path, ["--config", str(cfg), "--payments", "30", "--clock", "virtual"], kafka_env(svc))
    second = run_synthpay(tmp_path, ["--config", str(cfg), "--payments", "30", "--clock", "virtual"], kafka_env(svc))
    assert first.returncode == second.returncode == 0, second.stderr[-2000:]
    total = first.summary["delivered"] + second.summary["delivered"]
    assert end_offsets(svc, list(topics.values())) == total


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256"])
def test_sasl_runs(tmp_path: Path, mechanism: str) -> None:
    svc = services()
    user, password = (
        (svc.plain_user, svc.plain_password) if mechanism == "PLAIN" else (svc.scram_user, svc.scram_password)
    )
    cfg, topics = write_config(tmp_path)
    env = {
        "KAFKA_BOOTSTRAP_SERVER": svc.sasl_bootstrap,
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISMS": mechanism,
        "KAFKA_SASL_USERNAME": user,
        "KAFKA_SASL_PASSWORD": password,
        "SCHEMA_REGISTRY_ENDPOINT": svc.registry,
        "SCHEMA_REGISTRY_API_KEY": "registry-key",
        "SCHEMA_REGISTRY_API_SECRET": "registry-secret-value",
    }
    run = run_synthpay(tmp_path, ["--config", str(cfg), "--payments", "50", "--clock", "virtual"], env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.summary["delivered"] == run.summary["events_total"] > 50
    assert end_offsets(svc, list(topics.values())) == run.summary["delivered"]
    # verify over SASL too, and once with a wrong password: its error must not echo either.
    report = verify_run(tmp_path, run, env)
    refused = verify_run(tmp_path, run, {**env, "KAFKA_SASL_PASSWORD": "wrong-pw-for-verify"}, "--timeout", "5")
    assert report.returncode == 0 and refused.returncode == 1, refused.stdout + refused.stderr
    assert (
        refused.stderr.startswith("synthpay: error: verify: cannot use the cluster")
        and "uthentication" in refused.stderr
    )
    assert run.summary_path is not None
    shown = run.stdout + run.stderr + run.summary_path.read_text() + report.stdout + report.stderr
    for secret in (password, "registry-secret-value", "wrong-pw-for-verify"):
        assert secret not in shown + refused.stdout + refused.stderr


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256"])
def test_wrong_password_fails_fast_and_produces_nothing(tmp_path: Path, mechanism: str) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path)
    began = time.monotonic()
    run = run_synthpay(
        tmp_path,
        ["--config", str(cfg), "--payments", "50", "--clock", "virtual"],
        {
            "KAFKA_BOOTSTRAP_SERVERS": svc.sasl_bootstrap,
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_MECHANISMS": mechanism,
            "KAFKA_SASL_USERNAME": svc.plain_user if mechanism == "PLAIN" else svc.scram_user,
            "KAFKA_SASL_PASSWORD": "definitely-wrong-pw",
            "SCHEMA_REGISTRY_ENDPOINT": svc.registry,
        },
        timeout=120,
    )
    elapsed = time.monotonic() - began
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if line.startswith("synthpay: error:")]
    assert len(errors) == 1 and "uthentication" in errors[0], run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert "definitely-wrong-pw" not in run.stdout + run.stderr
    assert elapsed < 30
    assert end_offsets(svc, list(topics.values())) == 0


def test_the_longest_client_id_kafka_takes_runs_and_one_byte_more_is_refused_at_validation(tmp_path: Path) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path)
    args = ["--config", str(cfg), "--payments", "20", "--clock", "virtual"]
    run = run_synthpay(tmp_path, args, {**kafka_env(svc), "KAFKA_CLIENT_ID": "c" * 32_767}, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert end_offsets(svc, list(topics.values())) == run.summary["delivered"] == run.summary["events_total"]
    # The broker drops a connection whose request header holds a longer id: refused before connecting.
    refused = run_synthpay(tmp_path, args, {**kafka_env(svc), "KAFKA_CLIENT_ID": "c" * 32_768}, timeout=120)
    assert refused.returncode == 2
    assert refused.stderr == (
        f"synthpay: config error: KAFKA_CLIENT_ID = '{'c' * 40}'... (32_768 characters) (environment): "
        "expected a string of at most 32_767 bytes\n"
    )


def test_a_sasl_password_not_utf8_is_refused_naming_it_before_connecting(tmp_path: Path) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": svc.sasl_bootstrap,
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_USERNAME": svc.plain_user,
        "KAFKA_SASL_PASSWORD": svc.plain_password + "\udcff",  # the byte 0xff, as Python reads the environment
        "SCHEMA_REGISTRY_ENDPOINT": svc.registry,
    }
    run = run_synthpay(tmp_path, ["--config", str(cfg), "--payments", "20", "--clock", "virtual"], env, timeout=120)
    assert run.returncode == 2
    assert run.stderr == (
        "synthpay: config error: KAFKA_SASL_PASSWORD (environment): not valid UTF-8 text; expected a string\n"
    )
    assert end_offsets(svc, list(topics.values())) == 0


def test_registry_unreachable_fails_before_producing(tmp_path: Path) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path)
    run = run_synthpay(
        tmp_path,
        ["--config", str(cfg), "--payments", "20", "--clock", "virtual"],
        {"KAFKA_BOOTSTRAP_SERVERS": svc.bootstrap, "SCHEMA_REGISTRY_ENDPOINT": "http://127.0.0.1:9"},
        timeout=120,
    )
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if line.startswith("synthpay: error:")]
    assert len(errors) == 1 and "schema registry" in errors[0] and "unreachable" in errors[0]
    assert "Traceback" not in run.stderr
    assert end_offsets(svc, list(topics.values())) == 0


def test_registry_refusing_an_incompatible_schema_is_exit_2_before_producing(tmp_path: Path) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path)
    client = registry(svc)
    incompatible = (
        '{"type":"record","name":"Bank","namespace":"confluent.io.examples.serialization.avro",'
        '"fields":[{"name":"id","type":"int"}]}'
    )
    client.register_schema(f"{topics['banks']}-value", Schema(incompatible, "AVRO"))
    run = run_synthpay(tmp_path, ["--config", str(cfg), "--payments", "20", "--clock", "virtual"], kafka_env(svc))
    assert run.returncode == 2
    errors = [line for line in run.stderr.splitlines() if line.startswith("synthpay: error:")]
    assert len(errors) == 1 and f"'{topics['banks']}-value' holds AVRO schema version 1" in errors[0], run.stderr[
        -2000:
    ]
    assert "will not add the AVRO schema of kafka.value_format = 'avro' to it" in errors[0]
    assert end_offsets(svc, list(topics.values())) == 0


def _sasl(svc: Services, mechanism: str) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": svc.sasl_bootstrap,
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISMS": mechanism,
        "KAFKA_SASL_USERNAME": svc.scram_user,
        "KAFKA_SASL_PASSWORD": svc.scram_password,
    }


#: What only the broker, the Kafka client or the registry can refuse, by class, several inputs
#: each: (config overrides, environment overrides given the services, the setting the error names).
REFUSED: dict[str, tuple[dict[str, Any], Callable[[Services], dict[str, str]], str]] = {
    # librdkafka's checks when a client is made
    "linger-not-a-number": (
        {"extra": '[kafka.config]\n"linger.ms" = "soon"\n'},
        lambda svc: {},
        "kafka.config.\"linger.ms\" = 'soon'",
    ),
    "acks-against-idempotence": (
        {"extra": '[kafka.config]\n"acks" = "1"\n'},
        lambda svc: {},
        "kafka.config.\"acks\" = '1'",
    ),
    "callback-not-callable": (
        {"extra": '[kafka.config]\n"stats_cb" = "not a function"\n'},
        lambda svc: {},
        "kafka.config.\"stats_cb\" = 'not a function'",
    ),
    "unknown-property": (
        {"extra": '[kafka.config]\n"no.such.thing" = 1\n'},
        lambda svc: {},
        "kafka.config.\"no.such.thing\" = '1'",
    ),
    "ca-file-missing": (
        {},
        lambda svc: {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CA_LOCATION": "/nonexistent.pem"},
        "kafka.ssl_ca_location = '/nonexistent.pem'",
    ),
    # the broker refusing a topic
    "partitions-absurd": (
        {"statuses": {"Initiated": {"partitions": 100_000}}},
        lambda svc: {},
        "statuses.Initiated.partitions = 100000",
    ),
    "bank-partitions-absurd": (
        {"entities": "banks_partitions = 100000"},
        lambda svc: {},
        "entities.banks_partitions = 100000",
    ),
    "replication-beyond-brokers": (
        {"extra": "[kafka]\nreplication_factor = 3\n"},
        lambda svc: {},
        "kafka.replication_factor = 3",
    ),
    "topic-name-invalid": (
        {"statuses": {"Failed": {"topic": "no spaces allowed"}}},
        lambda svc: {},
        "statuses.Failed.topic",
    ),
    # a connection the cluster cannot work with
    "sasl-mechanism-not-enabled": ({}, lambda svc: _sasl(svc, "SCRAM-SHA-512"), "kafka.sasl_mechanisms"),
    "oauthbearer-without-token": ({}, lambda svc: _sasl(svc, "OAUTHBEARER"), "kafka.sasl_mechanisms"),
    "tls-to-plaintext-listener": ({}, lambda svc: {"KAFKA_SECURITY_PROTOCOL": "SSL"}, "kafka.security_protocol"),
    # a registry URL that is no registry
    "registry-url-elsewhere": ({}, lambda svc: {"SCHEMA_REGISTRY_ENDPOINT": "NOT_A_REGISTRY"}, "schema_registry.url"),
    "registry-path-wrong": (
        {},
        lambda svc: {"SCHEMA_REGISTRY_ENDPOINT": svc.registry.rsplit("/apis/", 1)[0]},
        "schema_registry.url",
    ),
    "registry-tls-to-http": (
        {},
        lambda svc: {"SCHEMA_REGISTRY_ENDPOINT": svc.registry.replace("http:", "https:")},
        "schema_registry.url",
    ),
    "registry-url-malformed": ({}, lambda svc: {"SCHEMA_REGISTRY_ENDPOINT": "http://[::1"}, "SCHEMA_REGISTRY_ENDPOINT"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_setting_only_kafka_refuses_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    svc = services()
    files, env_of, setting = REFUSED[case]
    cfg, topics = write_config(tmp_path, **files)
    with not_a_registry() as elsewhere:
        env = {k: elsewhere if v == "NOT_A_REGISTRY" else v for k, v in {**kafka_env(svc), **env_of(svc)}.items()}
        run = run_synthpay(tmp_path, ["--config", str(cfg), "--payments", "20", "--clock", "virtual"], env, timeout=120)
    errors = [line for line in run.stderr.splitlines() if line.startswith("synthpay: ")]
    assert run.returncode == 2, run.stderr[-2000:]
    assert len(errors) == 1 and setting in errors[0], run.stderr[-2000:]
    assert "Traceback" not in run.stderr and svc.scram_password not in run.stderr
    assert end_offsets(svc, list(topics.values())) == 0


def test_validate_masks_secrets(tmp_path: Path) -> None:
    env = {
        "KAFKA_SASL_PASSWORD": "kafka-pw-123",
        "SCHEMA_REGISTRY_API_SECRET": "sr-secret-456",
        "KAFKA_BOOTSTRAP_SERVER": "127.0.0.1:1",
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "synthpay", "validate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "kafka-pw-123" not in proc.stdout + proc.stderr
    assert "sr-secret-456" not in proc.stdout + proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["kafka"]["sasl_password"] == "***"
    assert shown["run"]["sink"] == "kafka"
