"""Scenarios end to end: the phase header a consumer sees is the payment's phase."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from kafka_support import (
    Record,
    Run,
    Services,
    consume,
    group_by_payment,
    kafka_env,
    run_synthpay,
    services,
    verify_run,
)

from synthpay.config.settings import DEFAULT_STATUSES

pytestmark = pytest.mark.kafka

START = "2020-01-01T00:00:00Z"
START_MS = 1577836800000
PHASE_AT_MS, PHASE_END_MS = START_MS + 5_000, START_MS + 10_000


def scenario_config(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    topics = {name: f"{prefix}-payment-{name.lower()}" for name, _, _ in DEFAULT_STATUSES}
    topics["banks"] = f"{prefix}-banks"
    lines = [
        "[run]",
        "rate = 200",
        "payments = 0",
        "duration_s = 15",
        "workers = 100000",
        f'[entities]\nbanks_topic = "{topics["banks"]}"',
        "[statuses]",
    ]
    for name, delay, partitions in DEFAULT_STATUSES:
        timing = (
            'delay = { dist = "lognormal", median_ms = 800, p99_ms = 5000 }'
            if name == "Accounted"
            else f"delay_ms = {delay}"
        )
        lines.append(f'{name} = {{ {timing}, partitions = {partitions}, topic = "{topics[name]}" }}')
    lines += [
        "[[phases]]",
        'name = "surge"',
        "at_s = 5",
        "duration_s = 5",
        "rate = 400",
        'weights = { "Initiated>Failed" = 20 }',
        "delay_scale = { Failed = 2.0 }",
    ]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path, topics


# The services, the run's directory, {status or "banks": topic}, the run and its records.
Phased = tuple[Services, Path, dict[str, str], Run, list[Record]]


@pytest.fixture(scope="module")
def phased(tmp_path_factory: pytest.TempPathFactory) -> Phased:
    svc = services()
    tmp = tmp_path_factory.mktemp("phased")
    cfg, topics = scenario_config(tmp)
    run = run_synthpay(
        tmp, ["--config", str(cfg), "--clock", "virtual", "--seed", "5", "--start", START], kafka_env(svc)
    )
    assert run.returncode == 0, run.stderr[-3000:]
    records = consume(svc, list(topics.values()), run.summary["delivered"])
    return svc, tmp, topics, run, records


def test_every_payment_event_carries_the_phase_it_started_in(phased: Phased) -> None:
    _, _, topics, _, records = phased
    by_id = group_by_payment(records, topics["banks"])
    assert by_id
    seen = set()
    for events in by_id.values():
        started = min(r.value["ts"] for r in events if r.value["status"] == "Initiated") - 100
        expected = b"surge" if PHASE_AT_MS <= started < PHASE_END_MS else b""
        assert {r.headers["phase"] for r in events} == {expected}
        seen.add(expected)
    assert seen == {b"surge", b""}


def test_bank_events_carry_no_phase(phased: Phased) -> None:
    _, _, topics, _, records = phased
    banks = [r for r in records if r.topic == topics["banks"]]
    assert banks
    assert all("phase" not in r.headers for r in banks)


def test_verify_accepts_the_phased_run(phased: Phased) -> None:
    _, tmp, _, run, _ = phased
    proc = verify_run(tmp, run, kafka_env(services()))
    assert proc.returncode == 0, proc.stdout + proc.stderr
