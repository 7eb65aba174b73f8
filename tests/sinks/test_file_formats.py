"""file.format = "jsonl" and "parquet": the Avro run's records in another format, read back with DuckDB and pyarrow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import subprocess_env
from hypothesis import given, settings
from hypothesis import strategies as st

from synthpay.cli import main
from synthpay.formats import arrow
from synthpay.model import serde
from synthpay.model.entities import Payment
from synthpay.model.events import Event, Labels, Topic
from synthpay.sinks.parquet_file import ParquetWriter

START = "2026-01-01T00:00:00Z"
#: Phases, every anomaly kind and zipf popularity, a few hundred payments.
SCENARIO = """
[run]
seed = 5
payments = 0
duration_s = 12
rate = 25

[[phases]]
name = "peak"
at_s = 4
duration_s = 4
rate = 60

[anomalies]
late = 0.03
duplicate = 0.03
out_of_order = 0.03
missing = 0.03

[entities]
popularity = "zipf"
"""
LABELS = ("_run_id", "_phase", "_anomaly", "_emitted_ts")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def run(tmp: Path, fmt: str, *args: str) -> tuple[Path, dict[str, Any]]:
    """A seeded virtual-clock file run in ``fmt``; (its directory, its summary)."""
    out, summary = tmp / f"out-{fmt}", tmp / f"{fmt}.json"
    argv = ["run", "--clock", "virtual", "--start", START, "--sink", "file", "--out", str(out), "--run-id", fmt]
    argv += ["--file-format", fmt, "--summary-json", str(summary), "--log-level", "warning", *args]
    assert main(argv) == 0
    return out, json.loads(summary.read_text())


@pytest.fixture(scope="module")
def scenario_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """The scenario run in each format, with the same seed."""
    tmp = tmp_path_factory.mktemp("formats")
    (tmp / "c.toml").write_text(SCENARIO)
    cwd = Path.cwd()
    os.chdir(tmp)  # no config.toml of the checkout's
    try:
        return {fmt: run(tmp, fmt, "--config", str(tmp / "c.toml")) for fmt in ("avro", "jsonl", "parquet")}
    finally:
        os.chdir(cwd)


def ms(value: object) -> object:
    """A timestamp DuckDB returns, as epoch milliseconds; anything else as it is."""
    return (value - EPOCH) // (datetime.resolution * 1000) if isinstance(value, datetime) else value


def duck(sql: str) -> list[dict[str, object]]:
    """Rows of a DuckDB query, timestamps as epoch ms."""
    result = duckdb.sql(sql)
    assert result is not None
    names = result.columns
    return [{n: ms(v) for n, v in zip(names, row)} for row in result.fetchall()]


#: DuckDB's types of the Avro types, for JSON lines (whose types it would guess: UUIDs, timestamps).
DUCK_TYPES = {"string": "VARCHAR", "long": "BIGINT", "int": "INTEGER", "double": "DOUBLE", "boolean": "BOOLEAN"}
LABEL_TYPES = {"_run_id": "VARCHAR", "_phase": "VARCHAR", "_anomaly": "VARCHAR", "_emitted_ts": "BIGINT"}


def jsonl_columns(topic: str) -> str:
    record = "bank" if topic == "banks" else "ground_truth" if topic == "synthpay-ground-truth" else "payment"
    fields = json.loads(serde.schema_text(record))["fields"]
    return str({**{f["name"]: DUCK_TYPES[f["type"]] for f in fields}, **LABEL_TYPES})


def count(sql: str) -> int:
    """The one number a ``SELECT count(*)`` query gives."""
    (n,) = duck(sql)[0].values()
    assert isinstance(n, int)
    return n


def reader_of(fmt: str, out: Path) -> Callable[[str], str]:
    """The DuckDB table function reading one topic's files."""
    if fmt == "jsonl":
        return lambda topic: (
            f"read_json('{out}/{topic}.jsonl', format='newline_delimited', columns={jsonl_columns(topic)})"
        )
    return lambda topic: f"read_parquet('{out}/{topic}.*.parquet')"


def avro_records(out: Path, topic: str) -> list[dict[str, Any]]:
    with (out / f"{topic}.avro").open("rb") as f:
        return list(fastavro.reader(f))  # type: ignore[arg-type]


def avro_labels(out: Path, topic: str) -> list[tuple[str, str, int]]:
    """(phase, anomaly, delay) per record, from the .labels sidecar."""
    with (out / f"{topic}.labels").open("rb") as f:
        rows: list[dict[str, Any]] = list(fastavro.reader(f))  # type: ignore[arg-type]
    return [(r["phase"], r["anomaly"], r["delay_ms"]) for r in rows for _ in range(r["records"])]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_counts_per_topic_equal_the_summary(scenario_runs: dict[str, tuple[Path, dict[str, Any]]], fmt: str) -> None:
    out, summary = scenario_runs[fmt]
    table = reader_of(fmt, out)
    counts = {topic: count(f"SELECT count(*) AS n FROM {table(topic)}") for topic in summary["topics"]}
    assert counts == {topic: c["delivered"] for topic, c in summary["topics"].items()}
    assert sum(counts.values()) == summary["events_total"] > 500


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_records_are_the_avro_runs_in_the_same_order(
    scenario_runs: dict[str, tuple[Path, dict[str, Any]]], fmt: str
) -> None:
    avro_out, summary = scenario_runs["avro"]
    out, _ = scenario_runs[fmt]
    table = reader_of(fmt, out)
    assert summary["topics"]
    for topic in summary["topics"]:
        rows = duck(f"SELECT * EXCLUDE ({', '.join(LABELS)}) FROM {table(topic)}")
        assert rows == avro_records(avro_out, topic), topic


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_label_columns_carry_the_avro_runs_labels(
    scenario_runs: dict[str, tuple[Path, dict[str, Any]]], fmt: str
) -> None:
    avro_out, summary = scenario_runs["avro"]
    out, _ = scenario_runs[fmt]
    payment_topics = [t for t in summary["topics"] if t.startswith("payment-")]
    assert payment_topics
    for topic in payment_topics:
        rows = duck(f"SELECT ts, _run_id, _phase, _anomaly, _emitted_ts FROM {reader_of(fmt, out)(topic)}")
        expected = [
            {
                "ts": r["ts"],
                "_run_id": fmt,
                "_phase": phase,
                "_anomaly": anomaly or None,
                "_emitted_ts": r["ts"] + delay,
            }
            for r, (phase, anomaly, delay) in zip(avro_records(avro_out, topic), avro_labels(avro_out, topic))
        ]
        assert rows == expected, topic
    assert count(f"SELECT count(*) AS n FROM {reader_of(fmt, out)('payment-validated')} WHERE _anomaly IS NOT NULL")


def test_parquet_types_follow_the_avro_schema(scenario_runs: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    out, _ = scenario_runs["parquet"]
    schema = pq.read_schema(out / "payment-initiated.000000.parquet")
    assert schema.field("ts").type == pa.timestamp("ms", tz="UTC")
    assert schema.field("_emitted_ts").type == pa.timestamp("ms", tz="UTC")
    assert schema.field("amount").type == pa.float64()
    assert schema.field("date_ts").type == pa.string()
    assert schema.names == [*(f.name for f in arrow.record_schema("payment")), *LABELS]
    assert pq.read_schema(out / "banks.000000.parquet").field("version").type == pa.int32()
    kinds = duck(
        f"SELECT typeof(ts) AS ts, typeof(amount) AS amount FROM read_parquet('{out}/payment-initiated.*.parquet') LIMIT 1"
    )
    assert kinds == [{"ts": "TIMESTAMP WITH TIME ZONE", "amount": "DOUBLE"}]


def test_jsonl_types_as_duckdb_reads_them(scenario_runs: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    out, _ = scenario_runs["jsonl"]
    kinds = duck(
        "SELECT typeof(ts) AS ts, typeof(amount) AS amount, typeof(_emitted_ts) AS emitted, typeof(_anomaly) AS anomaly "
        f"FROM read_json('{out}/payment-initiated.jsonl', format='newline_delimited') LIMIT 1"
    )
    assert kinds == [{"ts": "BIGINT", "amount": "DOUBLE", "emitted": "BIGINT", "anomaly": "VARCHAR"}]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_verify_passes(
    scenario_runs: dict[str, tuple[Path, dict[str, Any]]], fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out, summary = scenario_runs[fmt]
    assert summary["file_format"] == fmt
    capsys.readouterr()
    assert main(["verify", str(out.parent / f"{fmt}.json")]) == 0
    report = capsys.readouterr().out
    assert "PASS  schemas: 9 of 9 files" in report and "FAIL" not in report


def test_a_plain_jsonl_run_labels_its_records_with_the_run_id_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out, _ = run(tmp_path, "jsonl", "--payments", "20", "--seed", "1")
    first = json.loads((out / "payment-initiated.jsonl").read_text().splitlines()[0])
    assert list(first) == [f["name"] for f in json.loads(serde.schema_text("payment"))["fields"]] + ["_run_id"]
    assert first["_run_id"] == "jsonl"


def test_parquet_rotates_into_complete_files_of_rotate_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYNTHPAY_FILE_ROTATE_ROWS", "70")
    out, _ = run(tmp_path, "parquet", "--payments", "300", "--seed", "2")
    files = sorted(out.glob("payment-initiated.*.parquet"))
    sizes = [pq.read_metadata(f).num_rows for f in files]
    assert len(files) == 5 and sizes == [70, 70, 70, 70, 20]
    assert not list(out.glob(".*.tmp"))
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "parquet.json")]) == 0


def test_parquet_files_are_readable_while_the_run_goes_on(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**subprocess_env(), "SYNTHPAY_FILE_ROTATE_ROWS": "40", "SYNTHPAY_FILE_ROTATE_S": "1"}
    argv = ["run", "--clock", "real", "--payments", "0", "--rate", "200", "--shutdown-grace", "0", "--sink", "file"]
    argv += ["--out", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthpay", *argv, "--file-format", "parquet", "--log-level", "warning"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while len(complete := sorted(out.glob("payment-initiated.*.parquet"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended"
        assert len(complete) >= 3
        rows = [pq.read_metadata(f).num_rows for f in complete[:3]]
        assert all(0 < n <= 40 for n in rows)
        assert duck(f"SELECT count(*) AS n FROM read_parquet({[str(f) for f in complete[:3]]})") == [{"n": sum(rows)}]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0


def test_parquet_without_pyarrow_is_one_line_and_exit_2(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import sys\nsys.modules['pyarrow'] = None\n")
    env = {**subprocess_env(), "PYTHONPATH": f"{site}{os.pathsep}{subprocess_env().get('PYTHONPATH', '')}"}
    argv = ["run", "--clock", "virtual", "--payments", "5", "--sink", "file", "--out", str(tmp_path / "out")]
    done = subprocess.run(
        [sys.executable, "-m", "synthpay", *argv, "--file-format", "parquet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.startswith("synthpay:")]
    assert len(lines) == 1
    assert "file.format / --file-format" in lines[0] and "pip install 'synthpay[parquet]'" in lines[0]
    assert not (tmp_path / "out").exists()


TOPIC = Topic("payment-initiated", "payment", 1, "Initiated", serde.avro_string("Initiated"))


def payment_event(i: int) -> Event:
    tail = serde.avro_string("d") + serde.avro_string("s") + serde.avro_string("EUR") + serde.avro_double(i / 100)
    return Event(TOPIC, 1_767_225_600_000 + i, Payment(f"{i:036d}".encode(), tail))


@settings(max_examples=25, deadline=None)
@given(rotate=st.integers(1, 9), blocks=st.lists(st.tuples(st.integers(0, 12), st.booleans()), min_size=1, max_size=6))
def test_rotation_splits_the_rows_in_order_and_never_shows_a_partial_file(
    tmp_path_factory: pytest.TempPathFactory, rotate: int, blocks: list[tuple[int, bool]]
) -> None:
    directory = tmp_path_factory.mktemp("rotation")
    writer = ParquetWriter(directory, "t", arrow.TopicTables(TOPIC, Labels("r", False, False)), rotate)
    events, sent = [payment_event(i) for i in range(sum(n for n, _ in blocks))], 0
    for n, complete in blocks:
        writer.write(events[sent : sent + n], complete)
        sent += n
        shown = sorted(directory.glob("*.parquet"))
        assert writer.readable == sum(pq.read_metadata(f).num_rows for f in shown)
    writer.close()
    assert sent == len(events)
    files = sorted(directory.glob("t.*.parquet"))
    assert len(files) >= len(events) / rotate
    assert all(pq.read_metadata(f).num_rows <= rotate for f in files)
    ids = [r["id"] for f in files for r in pq.read_table(f).to_pylist()]
    assert ids == [e.key for e in events] and writer.readable == len(events)
