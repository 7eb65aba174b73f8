"""open_sources on each kind of file: a file sink directory in each format, Avro, CSV, JSON lines."""

from __future__ import annotations

import json
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

import fastavro
import pytest
from conftest import read_avro, run_engine

from synthpay.calibrate.observations import Observation
from synthpay.calibrate.source_options import SourceOptions, TimeUnit
from synthpay.calibrate.sources import open_sources

DEFAULTS = SourceOptions()


def _read(specs: list[str], options: SourceOptions = DEFAULTS) -> list[Observation]:
    return list(open_sources(specs, options, None).observations())


def _in_arrival_order(events: list[Observation]) -> bool:
    return all(a.arrival_ms <= b.arrival_ms for a, b in pairwise(events))


@pytest.fixture(scope="module")
def avro_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _, out, _ = run_engine(tmp_path_factory.mktemp("avro"), {"run.payments": 300})
    return out


def _sink_records(out: Path) -> list[dict[str, Any]]:
    return [r for topic, records in read_avro(out).items() if topic.startswith("payment-") for r in records]


def test_a_sink_directory_gives_every_payment_event_in_arrival_order(avro_run: Path) -> None:
    events = _read([str(avro_run)])
    records = _sink_records(avro_run)
    assert Counter((o.payment, o.status, o.ts_ms) for o in events) == Counter(
        (r["id"], r["status"], r["ts"]) for r in records
    )
    assert _in_arrival_order(events)
    assert all(o.arrival_ms >= o.ts_ms for o in events)


def test_a_sink_directory_carries_banks_amounts_and_currencies(avro_run: Path) -> None:
    read = sorted((o.payment, o.status, o.source, o.destination, o.amount, o.currency) for o in _read([str(avro_run)]))
    records = _sink_records(avro_run)
    assert read == sorted(
        (r["id"], r["status"], r["source"], r["destination"], r["amount"], r["currency"]) for r in records
    )


def test_a_sink_directory_has_no_record_timestamps(avro_run: Path) -> None:
    source = open_sources([str(avro_run)], DEFAULTS, None)
    assert (source.names, source.record_timestamps) == ((str(avro_run),), False)


def test_one_avro_file_is_one_source(avro_run: Path) -> None:
    path = avro_run / "payment-initiated.avro"
    events = _read([str(path)])
    assert {o.status for o in events} == {"Initiated"}
    assert len(events) == 300


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_sink_directory_in_another_format_reads_as_its_avro(tmp_path: Path, avro_run: Path, fmt: str) -> None:
    _, out, _ = run_engine(tmp_path, {"run.payments": 300, "file.format": fmt})
    key = lambda o: (o.payment, o.status, o.ts_ms, o.source, o.destination, o.amount, o.currency)  # noqa: E731
    assert sorted(map(key, _read([str(out)]))) == sorted(map(key, _read([str(avro_run)])))


def test_a_rotated_parquet_series_is_read_in_order(tmp_path: Path) -> None:
    _, out, _ = run_engine(tmp_path, {"run.payments": 300, "file.format": "parquet", "file.rotate_rows": 50})
    assert len(list(out.glob("payment-initiated.*.parquet"))) > 1
    events = _read([str(out)])
    assert len([o for o in events if o.status == "Initiated"]) == 300
    assert _in_arrival_order(events)


def test_the_ground_truth_and_banks_are_no_events(tmp_path: Path) -> None:
    _, out, _ = run_engine(tmp_path, {"run.payments": 300, "anomalies.missing": 0.2})
    assert (out / "synthpay-ground-truth.avro").exists()
    events = _read([str(out)])
    dropped = {(r["id"], r["status"]) for r in read_avro(out)["synthpay-ground-truth"]}
    assert dropped and not dropped & {(o.payment, o.status) for o in events}


def test_without_a_summary_the_payment_files_are_found_by_their_fields(tmp_path: Path, avro_run: Path) -> None:
    for path in avro_run.iterdir():
        if path.suffix == ".avro":
            (tmp_path / path.name).write_bytes(path.read_bytes())
    assert sorted(_read([str(tmp_path)])) == sorted(_read([str(avro_run)]))


def test_the_parts_of_a_run_of_several_processes_are_its_streams(tmp_path: Path, avro_run: Path) -> None:
    for path in avro_run.iterdir():
        if path.suffix == ".avro" or path.name == "summary.json":
            (tmp_path / path.name.replace(".avro", ".part0.avro")).write_bytes(path.read_bytes())
    assert sorted(_read([str(tmp_path)])) == sorted(_read([str(avro_run)]))


def test_two_sources_merge_by_arrival(tmp_path: Path, avro_run: Path) -> None:
    events = _read([str(avro_run / "payment-initiated.avro"), str(avro_run / "payment-completed.avro")])
    assert {o.status for o in events} == {"Initiated", "Completed"}
    assert _in_arrival_order(events)


def test_any_avro_file_with_id_ts_and_status(tmp_path: Path) -> None:
    schema = {
        "type": "record",
        "name": "Change",
        "fields": [
            {"name": "status", "type": "string"},
            {"name": "id", "type": "string"},
            {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "amount", "type": ["null", "double"]},
        ],
    }
    path = tmp_path / "changes.avro"
    with path.open("wb") as f:
        fastavro.writer(
            f,
            schema,
            [
                {"status": "New", "id": "p1", "ts": 2000, "amount": 3.5},
                {"status": "Done", "id": "p1", "ts": 1000, "amount": None},
            ],
        )
    assert _read([str(path)]) == [
        Observation("p1", "New", 2000, 2000, None, None, 3.5),
        Observation("p1", "Done", 1000, 2000),
    ]


CSV = """payment_id,status,changed_at,amount
p1,Initiated,2026-01-31T09:00:00Z,10.5
p1,Completed,2026-01-31T09:00:01.250+00:00,10.5
p2,Initiated,2026-01-31T10:00:00+01:00,
"""


def test_csv_with_columns_named_by_flags(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(CSV)
    options = SourceOptions(id="payment_id", time="changed_at")
    start = 1_769_850_000_000
    assert _read([str(path)], options) == [
        Observation("p1", "Initiated", start, start, None, None, 10.5),
        Observation("p1", "Completed", start + 1250, start + 1250, None, None, 10.5),
        Observation("p2", "Initiated", start, start + 1250),
    ]


def test_an_arrival_column_is_the_record_timestamp(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("id,status,ts,ingested\np1,Initiated,1700000000,1700000005\n")
    source = open_sources([str(path)], SourceOptions(arrival="ingested"), None)
    assert source.record_timestamps
    assert list(source.observations()) == [Observation("p1", "Initiated", 1_700_000_000_000, 1_700_000_005_000)]


def test_json_lines_with_every_column(tmp_path: Path) -> None:
    rows = [
        {
            "id": "p1",
            "status": "Initiated",
            "ts": 1_769_850_000_000,
            "source": "a",
            "destination": "b",
            "amount": 2,
            "currency": "EUR",
        },
        {"id": 7, "status": "Initiated", "ts": 1_769_850_000, "other": [1]},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n")
    assert _read([str(path)]) == [
        Observation("p1", "Initiated", 1_769_850_000_000, 1_769_850_000_000, "a", "b", 2.0, "EUR"),
        Observation("7", "Initiated", 1_769_850_000_000, 1_769_850_000_000),
    ]


def test_renamed_optional_columns(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("id,status,ts,from_bank,to_bank,value,ccy\np1,Initiated,1700000000000,a,b,1.5,EUR\n")
    options = SourceOptions(
        source="from_bank", destination="to_bank", amount="value", currency="ccy", time_unit=TimeUnit.MS
    )
    assert _read([str(path)], options) == [
        Observation("p1", "Initiated", 1_700_000_000_000, 1_700_000_000_000, "a", "b", 1.5, "EUR")
    ]


def test_each_read_starts_again(avro_run: Path) -> None:
    source = open_sources([str(avro_run / "payment-failed.avro")], DEFAULTS, None)
    assert list(source.observations()) == list(source.observations())
