"""Broker faults, shutdowns and denied permissions, against the real services; each ends with `synthpay verify`.

These kill -9, SIGSTOP and restart the broker of ``scripts/services``. Every test leaves it
running (the ``broker_ctl`` fixture heals it) and writes to topics of its own, so the other
tests are unaffected. Each prints its figures (``FIGURES ...`` lines, see ``pytest -s``).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import (  # type: ignore[attr-defined]  # exported, not re-exported in the stubs
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)
from kafka_support import (
    Broker,
    Run,
    Started,
    broker,
    end_offsets,
    finish,
    kafka_env,
    rss_kib,
    run_synthpay,
    services,
    start_synthpay,
    verify_run,
    write_config,
)

from synthpay.config.settings import DEFAULT_STATUSES

pytestmark = [pytest.mark.kafka, pytest.mark.faults]

OUTAGE_S = 10.0


@pytest.fixture
def broker_ctl() -> Iterator[Broker]:
    """The broker, left running and healthy whatever the test did to it."""
    ctl = broker()
    try:
        yield ctl
    finally:
        ctl.heal()


def delays(ms: int) -> dict[str, str]:
    """DELAY_* for every status, so runs are short and dense."""
    return {f"DELAY_{name.upper()}": str(ms) for name, _, _ in DEFAULT_STATUSES}


def wait_for(
    started: Started, what: str, done: Callable[[dict[str, Any]], bool], timeout: float = 60, after: int = 0
) -> dict[str, Any]:
    """The first log record of ``started`` (from index ``after``) for which ``done`` holds; fails if the run ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in started.log()[after:]:
            if done(record):
                return record
        assert started.proc.poll() is None, f"synthpay exited before {what}: {started.stderr_path.read_text()[-3000:]}"
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout}s")


def progress(
    started: Started, what: str, done: Callable[[dict[str, Any]], bool], timeout: float = 60, after: int = 0
) -> dict[str, Any]:
    return wait_for(started, what, lambda r: r.get("event") == "progress" and done(r), timeout, after)


def figures(scenario: str, run: Run, consumed: int, **extra: object) -> None:
    s = run.summary
    shown = " ".join(f"{k}={v}" for k, v in extra.items())
    print(
        f"\nFIGURES {scenario}: exit={run.returncode} produced={s.get('produced')} delivered={s.get('delivered')} "
        f"failed={s.get('failed')} undelivered={s.get('undelivered')} consumed={consumed} "
        f"elapsed_s={s.get('elapsed_s')} {shown}"
    )


def assert_clean(run: Run) -> None:
    """Nothing escaped as a traceback or an unhandled BufferError."""
    assert "Traceback" not in run.stderr and "BufferError" not in run.stderr, run.stderr[-3000:]


# --- a. broker bounce


def test_broker_killed_and_restarted_mid_run(tmp_path: Path, broker_ctl: Broker) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path)
    # The final flush waits past a restart that a busy machine slows down: this test is about
    # losing and duplicating nothing across the bounce, not about the flush deadline.
    env = {**kafka_env(svc), **delays(200), "SYNTHPAY_KAFKA_FLUSH_TIMEOUT_S": "150"}
    started = start_synthpay(
        tmp_path, ["--config", str(cfg), "--payments", "3000", "--workers", "100", "--summary-interval", "1"], env
    )
    at_kill = progress(started, "deliveries", lambda r: r["delivered"] > 1000)
    broker_ctl.kill()
    time.sleep(OUTAGE_S)
    restart_s = broker_ctl.restart()
    run = finish(started, timeout=240)
    consumed = end_offsets(svc, list(topics.values()))
    figures("bounce", run, consumed, delivered_at_kill=at_kill["delivered"], restart_s=round(restart_s, 1))
    assert_clean(run)
    assert run.returncode == 0, run.stderr[-3000:]
    s = run.summary
    assert s["delivered"] == s["produced"] == s["events_total"] == consumed and s["failed"] == 0
    assert verify_run(tmp_path, run, kafka_env(svc)).returncode == 0


# --- b. an outage longer than message.timeout.ms

SHORT_TIMEOUT = '[kafka.config]\n"message.timeout.ms" = 5000\n'


def test_outage_longer_than_message_timeout_counts_failures_once(tmp_path: Path, broker_ctl: Broker) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path, extra=SHORT_TIMEOUT)
    env = {**kafka_env(svc), **delays(200)}
    started = start_synthpay(
        tmp_path, ["--config", str(cfg), "--payments", "2000", "--workers", "100", "--summary-interval", "1"], env
    )
    progress(started, "deliveries", lambda r: r["delivered"] > 500)
    broker_ctl.kill()
    time.sleep(OUTAGE_S)
    broker_ctl.restart()
    run = finish(started, timeout=240)
    consumed = end_offsets(svc, list(topics.values()))
    figures("outage>message.timeout.ms", run, consumed)
    assert_clean(run)
    s = run.summary
    assert run.returncode == 1
    assert s["failed"] > 0 and not s["ok"]
    assert s["produced"] == s["delivered"] + s["failed"] == s["events_total"]  # each event counted once
    assert sum(t["failed"] for t in s["topics"].values()) == s["failed"]
    assert any(r["event"] == "delivery_failed" for r in run.log())
    # A failed report means "not known to be written": the broker may hold some of them.
    assert s["delivered"] <= consumed <= s["delivered"] + s["failed"]
    report = verify_run(tmp_path, run, kafka_env(svc))
    assert report.returncode == 1 and "FAIL  workflows" in report.stdout


def test_continuous_run_survives_an_outage_and_resumes(tmp_path: Path, broker_ctl: Broker) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path, extra=SHORT_TIMEOUT)
    env = {**kafka_env(svc), **delays(100)}
    started = start_synthpay(
        tmp_path,
        [
            "--config",
            str(cfg),
            "--payments",
            "0",
            "--workers",
            "50",
            "--summary-interval",
            "1",
            "--shutdown-grace",
            "5",
        ],
        env,
    )
    progress(started, "deliveries", lambda r: r["delivered"] > 200)
    broker_ctl.kill()
    time.sleep(OUTAGE_S)
    failed_in_outage = progress(started, "failures", lambda r: r["failed"] > 0)["failed"]
    broker_ctl.restart()
    restarted = len(started.log())
    back = [r for r in started.log() if r.get("event") == "progress"][-1]["delivered"]
    resumed = progress(started, "deliveries after the restart", lambda r: r["delivered"] > back + 200, after=restarted)
    started.signal(signal.SIGTERM)
    run = finish(started, timeout=60)
    consumed = end_offsets(svc, list(topics.values()))
    figures("continuous outage", run, consumed, delivered_when_back=back, delivered_resumed=resumed["delivered"])
    assert_clean(run)
    s = run.summary
    assert run.returncode == 1  # it lost events, and says so
    assert s["failed"] >= failed_in_outage > 0 and s["undelivered"] == 0
    assert s["produced"] == s["delivered"] + s["failed"] == s["events_total"]
    assert s["delivered"] <= consumed <= s["delivered"] + s["failed"]


# --- c. a frozen broker: backpressure

SMALL_QUEUE = 20_000


def test_frozen_broker_backpressure_bounds_memory(tmp_path: Path, broker_ctl: Broker) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path, extra=f'[kafka.config]\n"queue.buffering.max.messages" = {SMALL_QUEUE}\n')
    started = start_synthpay(
        tmp_path,
        [
            "--config",
            str(cfg),
            "--payments",
            "60000",
            "--workers",
            "5000",
            "--clock",
            "virtual",
            "--summary-interval",
            "1",
        ],
        kafka_env(svc),
    )
    progress(started, "deliveries", lambda r: r["delivered"] > 20_000)
    broker_ctl.freeze()
    frozen_at = time.monotonic()
    peak_kib = 0
    while time.monotonic() - frozen_at < OUTAGE_S:
        peak_kib = max(peak_kib, rss_kib(started.proc.pid)[1])
        time.sleep(0.2)
    during = [r for r in started.log() if r.get("event") == "progress"][-3:]
    broker_ctl.thaw()
    while started.proc.poll() is None:
        peak_kib = max(peak_kib, rss_kib(started.proc.pid)[1])
        time.sleep(0.2)
    run = finish(started, timeout=240)
    consumed = end_offsets(svc, list(topics.values()))
    pipeline = max(r["events"] - r["delivered"] for r in during)
    figures(
        "frozen broker",
        run,
        consumed,
        peak_rss_mib=round(peak_kib / 1024, 1),
        max_events_in_pipeline_while_frozen=pipeline,
    )
    assert_clean(run)
    assert run.returncode == 0, run.stderr[-3000:]
    s = run.summary
    assert s["delivered"] == s["produced"] == s["events_total"] == consumed and s["failed"] == 0
    # The engine waited: at most the producer queue, the channel, one batch in the I/O
    # thread and one being filled were ever ahead of the broker.
    assert pipeline <= SMALL_QUEUE + (4 + 2) * 2000
    assert peak_kib < 600 * 1024  # coarse: no unbounded growth
    assert verify_run(tmp_path, run, kafka_env(svc)).returncode == 0


# --- d. SIGTERM


def test_sigterm_under_load_delivers_everything(tmp_path: Path) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path)
    env = {**kafka_env(svc), **delays(50)}
    started = start_synthpay(
        tmp_path, ["--config", str(cfg), "--payments", "0", "--workers", "2000", "--summary-interval", "1"], env
    )
    progress(started, "load", lambda r: r["delivered"] > 20_000)
    started.signal(signal.SIGTERM)
    run = finish(started, timeout=60)
    consumed = end_offsets(svc, list(topics.values()))
    figures("SIGTERM under load", run, consumed)
    assert_clean(run)
    assert run.returncode == 0, run.stderr[-3000:]
    s = run.summary
    assert s["undelivered"] == 0 and s["failed"] == 0 and s["payments_cut"] == 0
    assert s["delivered"] == s["events_total"] == consumed
    assert verify_run(tmp_path, run, kafka_env(svc)).returncode == 0


GRACE_S, FLUSH_S = 3.0, 4.0


@pytest.mark.parametrize("queue", [None, 5000], ids=["queue-room", "queue-full"])
def test_sigterm_while_the_broker_is_down_ends_within_the_grace(
    tmp_path: Path, broker_ctl: Broker, queue: int | None
) -> None:
    svc = services()
    small_queue = f'[kafka.config]\n"queue.buffering.max.messages" = {queue}\n' if queue else ""
    cfg, _topics = write_config(tmp_path, extra=f"[kafka]\nflush_timeout_s = {FLUSH_S}\n{small_queue}")
    env = {**kafka_env(svc), **delays(50)}
    started = start_synthpay(
        tmp_path,
        [
            "--config",
            str(cfg),
            "--payments",
            "0",
            "--workers",
            "2000",
            "--summary-interval",
            "1",
            "--shutdown-grace",
            str(GRACE_S),
        ],
        env,
    )
    progress(started, "deliveries", lambda r: r["delivered"] > 10_000)
    broker_ctl.kill()
    time.sleep(2)
    began = time.monotonic()
    started.signal(signal.SIGTERM)
    run = finish(started, timeout=GRACE_S + FLUSH_S + 15)
    took = time.monotonic() - began
    incomplete = [r for r in run.log() if r["event"] == "flush_incomplete"]
    figures(
        f"SIGTERM broker down ({'queue of ' + str(queue) if queue else 'default queue'})",
        run,
        -1,
        exit_after_s=round(took, 1),
        logged_undelivered=incomplete[0]["undelivered"] if incomplete else None,
    )
    assert_clean(run)
    assert run.returncode == 1
    ended = [r for r in run.log() if r["event"] == "run_end"]
    assert incomplete and ended and ended[0]["undelivered"] == run.summary["undelivered"] > 0
    # The whole stop, flush included, fits in the grace (flush_timeout_s does not add to it).
    assert took < GRACE_S + 3  # coarse: python start-up and teardown


# --- e. topic creation denied


def _admin(svc_bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": svc_bootstrap})  # PLAINTEXT: the super user


def _acls(prefix: str, user: str) -> list[AclBinding]:
    """Everything allowed on the prefix except CREATE (a DENY wins over the ALLOW).

    CreateTopics is allowed when CREATE on the cluster is, whatever the topic ACLs say, and
    with allow.everyone.if.no.acl.found a cluster without ACLs allows it: deny it there too.
    """
    return [
        AclBinding(
            ResourceType.BROKER,
            "kafka-cluster",
            ResourcePatternType.LITERAL,
            f"User:{user}",
            "*",
            AclOperation.CREATE,
            AclPermissionType.DENY,
        ),
        AclBinding(
            ResourceType.TOPIC,
            prefix,
            ResourcePatternType.PREFIXED,
            f"User:{user}",
            "*",
            AclOperation.ALL,
            AclPermissionType.ALLOW,
        ),
        AclBinding(
            ResourceType.TOPIC,
            prefix,
            ResourcePatternType.PREFIXED,
            f"User:{user}",
            "*",
            AclOperation.CREATE,
            AclPermissionType.DENY,
        ),
    ]


def _await_acls(admin: AdminClient, user: str, count: int) -> None:
    """The broker applies new ACLs from the metadata log a moment after create_acls returns
    (longer just after a restart): wait until it reports them."""
    # None is the filter's wildcard (any name, any host); the stubs allow only str.
    wanted = AclBindingFilter(
        ResourceType.ANY,
        None,  # type: ignore[arg-type]
        ResourcePatternType.ANY,
        f"User:{user}",
        None,  # type: ignore[arg-type]
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    deadline = time.monotonic() + 30
    while len(admin.describe_acls(wanted).result()) < count:
        assert time.monotonic() < deadline, "the broker never reported the new ACLs"
        time.sleep(0.2)


def test_topic_creation_denied(tmp_path: Path) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path)
    prefix = topics["banks"].removesuffix("-banks")
    admin = _admin(svc.bootstrap)
    for future in admin.create_acls(_acls(prefix, svc.plain_user)).values():
        future.result()
    _await_acls(admin, svc.plain_user, len(_acls(prefix, svc.plain_user)))
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": svc.sasl_bootstrap,
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISMS": "PLAIN",
        "KAFKA_SASL_USERNAME": svc.plain_user,
        "KAFKA_SASL_PASSWORD": svc.plain_password,
        "SCHEMA_REGISTRY_ENDPOINT": svc.registry,
    }
    args = ["--config", str(cfg), "--payments", "50", "--clock", "virtual"]
    try:
        denied = run_synthpay(tmp_path, args, env, timeout=120)
        errors = [line for line in denied.stderr.splitlines() if line.startswith("synthpay: error:")]
        figures("topic creation denied", denied, end_offsets(svc, list(topics.values())))
        assert denied.returncode == 1 and len(errors) == 1, denied.stderr[-3000:]
        print(errors[0])
        assert "no permission to create topics" in errors[0]
        assert all(topic in errors[0] for topic in topics.values())
        assert "Traceback" not in denied.stderr
        assert end_offsets(svc, list(topics.values())) == 0

        new = [NewTopic(t, num_partitions=2, replication_factor=1) for t in topics.values()]
        for future in admin.create_topics(new).values():
            future.result()
        allowed = run_synthpay(tmp_path, args, env, timeout=120)
        consumed = end_offsets(svc, list(topics.values()))
        figures("topics pre-created", allowed, consumed)
        assert allowed.returncode == 0, allowed.stderr[-3000:]
        assert allowed.summary["delivered"] == allowed.summary["events_total"] == consumed
        assert verify_run(tmp_path, allowed, env).returncode == 0
    finally:
        filters = [
            AclBindingFilter(
                b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation, b.permission_type
            )
            for b in _acls(prefix, svc.plain_user)
        ]
        for future in admin.delete_acls(filters).values():
            future.result()
