"""``kafka`` as a SOURCE of fit and compare: a run's status topics read back as events, in each value format."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

import pytest
from conftest import defaults_only
from kafka_support import closed_port, kafka_env, run_synthpay, services

from synthpay.calibrate.source_errors import SourceError
from synthpay.calibrate.source_options import SourceOptions
from synthpay.calibrate.sources import open_sources

pytestmark = pytest.mark.kafka


@pytest.mark.parametrize("value_format", ["avro", "json", "protobuf", "json_schema"])
def test_a_runs_topics_read_back_as_its_events(tmp_path: Path, value_format: str) -> None:
    svc = services()
    prefix = f"t{uuid.uuid4().hex[:10]}."
    args = ["--topic-prefix", prefix, "--payments", "200", "--clock", "virtual", "--value-format", value_format]
    run = run_synthpay(tmp_path, args, kafka_env(svc))
    assert run.returncode == 0, run.stderr[-3000:]
    settings = defaults_only(
        {
            "kafka.bootstrap_servers": svc.bootstrap,
            "schema_registry.url": svc.registry,
            "kafka.topic_prefix": prefix,
            "kafka.value_format": value_format,
        }
    )
    source = open_sources(["kafka"], SourceOptions(), settings)
    events = list(source.observations())
    assert source.record_timestamps
    assert source.names == (f"kafka ({', '.join(s.topic for s in settings.statuses.values())})",)
    assert Counter(o.status for o in events) == {s: n for s, n in run.summary["statuses"].items() if n}
    assert len({o.payment for o in events}) == 200
    assert all(o.source and o.destination and o.currency and o.amount is not None for o in events)
    # The virtual clock stamps each record when it is emitted: at its event time, or later.
    assert all(o.arrival_ms >= o.ts_ms for o in events)


def test_topics_that_do_not_exist(tmp_path: Path) -> None:
    svc = services()
    settings = defaults_only(
        {"kafka.bootstrap_servers": svc.bootstrap, "kafka.topic_prefix": f"t{uuid.uuid4().hex[:10]}."}
    )
    with pytest.raises(SourceError, match=r"^kafka: none of the status topics exists at "):
        list(open_sources(["kafka"], SourceOptions(), settings).observations())


def test_an_unreachable_registry_is_one_line(tmp_path: Path) -> None:
    svc = services()
    prefix = f"t{uuid.uuid4().hex[:10]}."
    run = run_synthpay(tmp_path, ["--topic-prefix", prefix, "--payments", "5", "--clock", "virtual"], kafka_env(svc))
    assert run.returncode == 0, run.stderr[-3000:]
    registry = f"http://127.0.0.1:{closed_port()}"
    settings = defaults_only(
        {"kafka.bootstrap_servers": svc.bootstrap, "schema_registry.url": registry, "kafka.topic_prefix": prefix}
    )
    with pytest.raises(SourceError, match=rf"^kafka: schema registry at {registry} unreachable: "):
        list(open_sources(["kafka"], SourceOptions(), settings).observations())
