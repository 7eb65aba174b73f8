"""What is wrong with a SOURCE: one line naming the file, the row and the problem."""

from __future__ import annotations

import io
from pathlib import Path

import fastavro
import pytest
from conftest import defaults_only

from synthpay.calibrate.source_errors import SourceError
from synthpay.calibrate.source_options import SourceOptions, TimeUnit
from synthpay.calibrate.sources import open_sources

TABLE = SourceOptions(id="payment_id", time="changed_at")


def _error(tmp_path: Path, name: str, text: str | bytes, options: SourceOptions = TABLE) -> str:
    """The one line reading ``text`` as the file ``name`` fails with (paths relative to tmp_path)."""
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(SourceError) as caught:
        list(open_sources([str(path)], options, None).observations())
    message = str(caught.value)
    assert "\n" not in message
    return message.replace(f"{tmp_path}/", "")


def test_an_unparsable_time_names_the_line_the_column_and_the_value(tmp_path: Path) -> None:
    text = "payment_id,status,changed_at\n" + "p1,Initiated,2026-01-31T09:00:00Z\n" * 5 + "p2,Initiated,31/01/2026\n"
    assert _error(tmp_path, "events.csv", text) == (
        'events.csv line 7: changed_at "31/01/2026" is not a time (epoch ms, epoch s or ISO 8601)'
    )


def test_a_time_without_an_offset_is_ambiguous(tmp_path: Path) -> None:
    text = "payment_id,status,changed_at\np1,Initiated,2026-01-31 09:00:00\n"
    assert _error(tmp_path, "events.csv", text) == (
        'events.csv line 2: changed_at "2026-01-31 09:00:00" is not a time (ISO 8601 with a UTC offset (Z or +hh:mm))'
    )


def test_a_time_in_another_unit_than_asked(tmp_path: Path) -> None:
    text = "payment_id,status,changed_at\np1,Initiated,2026-01-31T09:00:00Z\n"
    options = SourceOptions(id="payment_id", time="changed_at", time_unit=TimeUnit.MS)
    assert _error(tmp_path, "events.csv", text, options) == (
        'events.csv line 2: changed_at "2026-01-31T09:00:00Z" is not a time (epoch ms)'
    )


def test_a_missing_column_names_it_and_the_header(tmp_path: Path) -> None:
    assert _error(tmp_path, "events.csv", "id,status,ts\np1,Initiated,1\n") == (
        'events.csv line 1: no column "payment_id" (the columns are: id, status, ts)'
    )


def test_a_json_line_without_a_column(tmp_path: Path) -> None:
    text = '{"payment_id": "p1", "status": "A", "changed_at": 1}\n{"payment_id": "p1", "changed_at": 2}\n'
    assert _error(tmp_path, "events.jsonl", text) == (
        'events.jsonl line 2: no column "status" (the columns are: payment_id, changed_at)'
    )


def test_an_empty_status(tmp_path: Path) -> None:
    text = "payment_id,status,changed_at\np1,,1700000000\n"
    assert _error(tmp_path, "events.csv", text) == "events.csv line 2: status is empty"


def test_a_short_row_lacks_its_value(tmp_path: Path) -> None:
    text = "payment_id,status,changed_at\np1,Initiated\n"
    assert _error(tmp_path, "events.csv", text) == "events.csv line 2: changed_at is missing"


def test_an_amount_that_is_no_number(tmp_path: Path) -> None:
    text = "payment_id,status,changed_at,amount\np1,Initiated,1700000000,ten\n"
    assert _error(tmp_path, "events.csv", text) == 'events.csv line 2: amount "ten" is not a number'


@pytest.mark.parametrize("name", ["events.csv", "events.jsonl"])
def test_an_empty_file(tmp_path: Path, name: str) -> None:
    assert _error(tmp_path, name, "") == f"{name}: no events (the file is empty)"


def test_a_header_and_no_rows(tmp_path: Path) -> None:
    assert _error(tmp_path, "events.csv", "payment_id,status,changed_at\n") == "events.csv: no events"


def test_a_line_that_is_no_json(tmp_path: Path) -> None:
    text = '{"payment_id": "p1", "status": "A", "changed_at": 1}\n{"payment_id": \n'
    message = _error(tmp_path, "events.jsonl", text)
    assert message.startswith("events.jsonl line 2: not JSON: ")


def test_a_json_line_that_is_no_object(tmp_path: Path) -> None:
    assert _error(tmp_path, "events.jsonl", "[1, 2]\n") == "events.jsonl line 1: a JSON array, not an object"


def test_an_avro_file_without_the_fields(tmp_path: Path) -> None:
    schema = {
        "type": "record",
        "name": "R",
        "fields": [{"name": "id", "type": "string"}, {"name": "at", "type": "long"}],
    }
    out = io.BytesIO()
    fastavro.writer(out, schema, [{"id": "p", "at": 1}])
    assert (
        _error(tmp_path, "x.avro", out.getvalue())
        == "x.avro: no field ts, status in its schema (the fields are: id, at)"
    )


def test_a_file_that_is_no_avro(tmp_path: Path) -> None:
    assert _error(tmp_path, "x.avro", b"id,status\n").startswith("x.avro: not an Avro container file: ")


def _opening(spec: str, tmp_path: Path) -> str:
    with pytest.raises(SourceError) as caught:
        open_sources([spec], TABLE, defaults_only())
    return str(caught.value).replace(f"{tmp_path}/", "")


def test_a_missing_file(tmp_path: Path) -> None:
    assert _opening(str(tmp_path / "gone.csv"), tmp_path) == "gone.csv: no such file or directory"


def test_an_unknown_kind_of_file(tmp_path: Path) -> None:
    (tmp_path / "events.txt").write_text("x")
    assert _opening(str(tmp_path / "events.txt"), tmp_path) == (
        "events.txt: not a kind of input fit reads: expected a file sink directory, a .avro, .csv, .jsonl or "
        ".parquet file, or the word kafka"
    )


def test_a_directory_without_payment_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    assert _opening(str(tmp_path), tmp_path) == (
        f"{tmp_path}: no payment topic files (.avro, .jsonl or .parquet with id, ts and status) in the directory"
    )


def test_kafka_without_bootstrap_servers(tmp_path: Path) -> None:
    assert _opening("kafka", tmp_path) == (
        "kafka: no bootstrap servers configured: set kafka.bootstrap_servers in the --config file "
        "(or KAFKA_BOOTSTRAP_SERVERS)"
    )
