"""`synthpay verify` on a file-sink run: the same checks as on Kafka, read from the run's files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import fastavro
import pytest
from kafka_support import kafka_env, run_synthpay, services, verify_run, write_config

from synthpay.cli import main

START = "2026-01-01T00:00:00Z"
#: Phases, drawn delays, every anomaly kind and zipf popularity, small enough to run in a second.
SCENARIO = """
[run]
seed = 5
payments = 0
duration_s = 20
rate = 40
workers = 100000

[statuses]
Initiated = { delay = { dist = "uniform", min_ms = 20, max_ms = 150 } }
Validated = { delay = { dist = "lognormal", median_ms = 300, p99_ms = 1500 } }

[[phases]]
name = "peak"
at_s = 8
duration_s = 6
rate = 120
anomalies = { late = 0.05 }
delay_scale = { Validated = 2.0 }

[anomalies]
late = 0.01
duplicate = 0.01
out_of_order = 0.01
missing = 0.01

[entities]
popularity = "zipf"
"""


def file_run(tmp_path: Path, *args: str, summary: str = "s.json") -> tuple[Path, Path]:
    """A seeded virtual-clock run on the file sink; (its summary, its directory)."""
    out, path = tmp_path / "out", tmp_path / summary
    path.parent.mkdir(exist_ok=True)
    argv = ["run", "--clock", "virtual", "--start", START, "--sink", "file", "--out", str(out)]
    assert main([*argv, "--summary-json", str(path), "--log-level", "warning", *args]) == 0
    return path, out


def verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, str], str]:
    """(exit code, {check name: PASS or FAIL}, stderr) of ``synthpay verify``."""
    capsys.readouterr()
    code = main(["verify", *args])
    out, err = capsys.readouterr()
    lines = [line for line in out.splitlines() if line[:6] in ("PASS  ", "FAIL  ")]
    return code, {line[6:].split(":")[0]: line[:4] for line in lines}, err


@pytest.fixture(autouse=True)
def _here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no config.toml of the checkout's


def rewrite(path: Path, change: Any) -> None:
    """Write ``path`` again with its records passed through ``change``, under its own schema."""
    with path.open("rb") as f:
        avro = fastavro.reader(f)
        schema, records = avro.writer_schema, list(avro)
    with path.open("wb") as f:
        fastavro.writer(f, schema, change(records))


def test_a_file_run_passes_without_kafka(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary, out = file_run(tmp_path, "--payments", "200", "--seed", "1")
    code, checks, err = verify(capsys, str(summary))
    assert (code, err) == (0, "")
    assert set(checks) == {"counts", "records", "workflows", "order", "duplicates", "banks", "schemas"}
    assert set(checks.values()) == {"PASS"}
    assert json.loads(summary.read_text())["out"] == str(out.resolve())
    assert not list(out.glob("*.labels"))  # a default run writes what it always did


def test_a_dropped_record_fails_counts_and_workflows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary, out = file_run(tmp_path, "--payments", "200", "--seed", "1")
    rewrite(out / "payment-validated.avro", lambda records: records[1:])
    code, checks, _ = verify(capsys, str(summary))
    assert code == 1
    assert {name for name, verdict in checks.items() if verdict == "FAIL"} == {"counts", "workflows"}


def test_a_payment_out_of_order_fails_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary, out = file_run(tmp_path, "--payments", "200", "--seed", "1")

    def later(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**records[0], "ts": records[0]["ts"] + 60_000}, *records[1:]]

    rewrite(out / "payment-initiated.avro", later)  # its first status after the others
    code, checks, _ = verify(capsys, str(summary))
    assert code == 1
    assert {name for name, verdict in checks.items() if verdict == "FAIL"} == {"order"}


def test_phases_and_anomalies_pass_on_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.toml").write_text(SCENARIO)
    summary, _ = file_run(tmp_path, "--config", str(tmp_path / "c.toml"))
    code, checks, err = verify(capsys, str(summary))
    assert (code, err) == (0, "")
    expected = {"phase starts", "phase anomalies", "anomalies", "missing", "timestamps", "hot banks", "rates"}
    assert expected <= set(checks)
    assert set(checks.values()) == {"PASS"}


def test_drawn_delays_without_phases_pass_without_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.toml").write_text(SCENARIO.split("[[phases]]")[0])
    summary, out = file_run(tmp_path, "--config", str(tmp_path / "c.toml"))
    assert not list(out.glob("*.labels"))
    code, checks, _ = verify(capsys, str(summary))
    assert code == 0 and checks["delay distributions"] == "PASS"


def test_records_reordered_under_their_labels_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.toml").write_text(SCENARIO)
    summary, out = file_run(tmp_path, "--config", str(tmp_path / "c.toml"))
    rewrite(out / "payment-validated.avro", lambda records: records[::-1])
    code, checks, _ = verify(capsys, str(summary))
    assert code == 1
    # Phases and anomaly labels now fall on other payments' records.
    assert checks["records"] == checks["duplicates"] == checks["phase anomalies"] == "FAIL"


def test_records_without_their_labels_fail_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.toml").write_text(SCENARIO)
    summary, out = file_run(tmp_path, "--config", str(tmp_path / "c.toml"))
    (out / "payment-validated.labels").unlink()
    code, checks, _ = verify(capsys, str(summary))
    assert code == 1
    assert checks["records"] == "FAIL"


def test_overwrite_removes_an_earlier_runs_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.toml").write_text(SCENARIO)
    file_run(tmp_path, "--config", str(tmp_path / "c.toml"))
    summary, out = file_run(tmp_path, "--payments", "50", "--overwrite")
    assert not list(out.glob("*.labels"))
    assert verify(capsys, str(summary))[0] == 0


@pytest.mark.parametrize("sink", ["null", "stdout"])
def test_a_run_that_keeps_no_records_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sink: str
) -> None:
    summary = tmp_path / "s.json"
    argv = ["run", "--clock", "virtual", "--payments", "5", "--sink", sink, "--summary-json", str(summary)]
    assert main([*argv, "--log-level", "warning"]) == 0
    code, checks, err = verify(capsys, str(summary))
    assert (code, checks, err) == (2, {}, f"synthpay: verify cannot check a {sink} run: it keeps no records\n")
    assert "out" not in json.loads(summary.read_text())


def test_a_kafka_run_without_kafka_configured_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, _ = file_run(tmp_path, "--payments", "5")
    summary.write_text(json.dumps({**json.loads(summary.read_text()), "sink": "kafka"}))
    code, _, err = verify(capsys, str(summary))
    assert (code, err) == (
        2,
        "synthpay: config error: verify reads Kafka: set KAFKA_BOOTSTRAP_SERVERS or kafka.bootstrap_servers\n",
    )


def test_json_report_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary, out = file_run(tmp_path, "--payments", "50", "--seed", "2")
    capsys.readouterr()
    assert main(["verify", str(summary), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report) == [
        "version",
        "run_id",
        "sink",
        "source",
        "ok",
        "failed",
        "records_read",
        "topics_read",
        "elapsed_s",
        "checks",
    ]
    assert (report["version"], report["sink"], report["source"], report["ok"], report["failed"]) == (
        1,
        "file",
        str(out.resolve()),
        True,
        0,
    )
    assert report["run_id"] == json.loads(summary.read_text())["run_id"]
    assert report["records_read"] == sum(report["topics_read"].values())
    assert report["checks"] and all(set(check) == {"name", "ok", "detail", "offenders"} for check in report["checks"])


def test_a_run_directory_is_read_by_its_summary_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out = file_run(tmp_path, "--payments", "50", summary="out/summary.json")
    code, checks, _ = verify(capsys, str(out))
    assert code == 0 and checks["counts"] == "PASS"


def test_a_summary_apart_from_a_default_run_directory_finds_its_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--clock", "virtual", "--payments", "50", "--sink", "file", "--log-level", "warning"]
    assert main([*argv, "--summary-json", "apart.json"]) == 0
    assert verify(capsys, "apart.json")[0] == 0


def test_a_moved_run_is_read_beside_its_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out = file_run(tmp_path, "--payments", "50", summary="out/summary.json")
    moved = shutil.move(out, tmp_path / "moved")
    code, checks, _ = verify(capsys, str(moved))
    assert code == 0 and checks["counts"] == "PASS"


def test_files_of_another_run_are_not_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary, _ = file_run(tmp_path, "--payments", "50", "--run-id", "first")
    shutil.copy(summary, tmp_path / "first.json")
    file_run(tmp_path, "--payments", "50", "--run-id", "second", "--overwrite")
    code, checks, err = verify(capsys, str(tmp_path / "first.json"))
    assert (code, checks) == (1, {})
    assert err == f"synthpay: error: verify: no files of run first: {tmp_path / 'out'} holds the files of run second\n"


@pytest.mark.kafka
def test_kafka_json_report_passes(tmp_path: Path) -> None:
    svc = services()
    cfg, _ = write_config(tmp_path)
    run = run_synthpay(tmp_path, ["--config", str(cfg), "--payments", "50", "--clock", "virtual"], kafka_env(svc))
    assert run.returncode == 0, run.stderr[-2000:]
    proc = verify_run(tmp_path, run, kafka_env(svc), "--json")
    report = json.loads(proc.stdout)
    assert (proc.returncode, report["sink"], report["ok"], report["source"]) == (0, "kafka", True, svc.bootstrap)
    assert {"schemas", "counts"} <= {check["name"] for check in report["checks"]}
