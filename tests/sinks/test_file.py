"""What the file sink promises on disk: whole blocks on a full disk, one run per directory,
no earlier run's files mixed in, readable files after SIGKILL, paths inside --out."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import fastavro
import pyarrow.parquet as pq
import pytest
from conftest import read_avro, subprocess_env

import synthpay as synthpay_package

PY = [sys.executable, "-m", "synthpay"]
BACKFILL = ["run", "--clock", "virtual", "--seed", "3", "--sink", "file", "--log-level", "warning"]


def synthpay(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PY, *args], cwd=cwd, env=subprocess_env(), capture_output=True, text=True, timeout=timeout)


def start_daemon(cwd: Path, *args: str) -> subprocess.Popen[str]:
    """A real-clock run that goes on until stopped, once its sink holds the directory."""
    proc = subprocess.Popen(
        [*PY, "run", "--payments", "0", "--clock", "real", "--sink", "file", "--log-level", "info", *args],
        cwd=cwd,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if '"file_sink_open"' in line:
            return proc
    proc.kill()
    raise AssertionError(f"the run ended before opening its sink: exit {proc.wait()}")


def records_per_file(out: Path) -> dict[str, int]:
    """Records in each .avro file, read to the end (fastavro raises on a cut-off block)."""
    counts = {}
    for path in sorted(out.glob("*.avro")):
        with path.open("rb") as fh:
            counts[path.stem] = sum(1 for _ in fastavro.reader(fh))
    return counts


def records_before_a_cut(path: Path) -> int:
    """Records up to the block a SIGKILL may have cut off mid-write; the header must be whole."""
    count = 0
    with path.open("rb") as fh:
        records = fastavro.reader(fh)
        try:
            for _ in records:
                count += 1
        except (EOFError, ValueError):
            pass
    return count


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("synthpay:")]


# -- disk full


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A directory on a tmpfs of 64 KiB (needs root to mount)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


@pytest.mark.parametrize("codec", ["deflate", "null"])
def test_full_disk_still_writes_the_summary_of_what_reached_the_files(
    tmp_path: Path, small_disk: Path, codec: str
) -> None:
    (tmp_path / "config.toml").write_text(f'[file]\ncodec = "{codec}"\n')
    done = synthpay(
        tmp_path, *BACKFILL, "--payments", "3000", "--out", str(small_disk / "o"), "--summary-json", "s.json"
    )
    assert done.returncode == 1
    assert len(error_lines(done.stderr)) == 1 and "No space left on device" in done.stderr
    assert "DELIVERY" in done.stdout
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["failed"] + summary["undelivered"] > 0
    # Every file ends on a complete block, and holds exactly what the summary says was delivered.
    written = records_per_file(small_disk / "o")
    assert written == {topic: figures["delivered"] for topic, figures in summary["topics"].items()}


def records_per_topic(out: Path, fmt: str) -> dict[str, int]:
    """Records in each topic's jsonl or parquet files: every line whole JSON, every Parquet file complete."""
    counts: dict[str, int] = {}
    for path in sorted(out.glob(f"*.{fmt}")):
        topic = path.name.split(".")[0]
        if fmt == "jsonl":
            rows = len([json.loads(line) for line in path.read_bytes().splitlines()])
        else:
            rows = pq.read_table(path).num_rows
        counts[topic] = counts.get(topic, 0) + rows
    return counts


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_full_disk_leaves_whole_lines_and_whole_parquet_files(tmp_path: Path, small_disk: Path, fmt: str) -> None:
    out = small_disk / "o"
    args = ["--payments", "3000", "--out", str(out), "--file-format", fmt, "--summary-json", "s.json"]
    done = synthpay(tmp_path, *BACKFILL, *args)
    assert done.returncode == 1
    assert len(error_lines(done.stderr)) == 1 and "No space left on device" in done.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["failed"] > 0
    written = records_per_topic(out, fmt)
    assert {topic: written.get(topic, 0) for topic in summary["topics"]} == {
        topic: f["delivered"] for topic, f in summary["topics"].items()
    }
    assert not list(out.glob(".*.tmp"))


def test_full_disk_at_start_leaves_no_file_without_a_header(tmp_path: Path, small_disk: Path) -> None:
    # Room for the run's lock file and a header or two (a page each), not for all eight.
    (small_disk / "filler").write_bytes(b"\0" * 52 * 1024)
    done = synthpay(tmp_path, *BACKFILL, "--payments", "10", "--out", str(small_disk / "o"))
    assert done.returncode == 1
    assert len(error_lines(done.stderr)) == 1 and "No space left on device" in done.stderr
    assert 0 < len(records_per_file(small_disk / "o")) < 8  # those there have a whole header


# -- one run per directory


def test_a_second_run_into_a_directory_in_use_is_refused(tmp_path: Path) -> None:
    first = start_daemon(tmp_path, "--out", "o")
    try:
        second = synthpay(tmp_path, *BACKFILL, "--payments", "10", "--out", "o", "--overwrite")
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert second.returncode == 2
    assert error_lines(second.stderr) == second.stderr.strip().splitlines()
    assert "'o' is in use by another run" in second.stderr
    assert first.returncode == 0
    assert records_per_file(tmp_path / "o")["payment-initiated"] > 0


def test_a_rerun_is_refused_and_leaves_the_earlier_files_as_they_were(tmp_path: Path) -> None:
    assert synthpay(tmp_path, *BACKFILL, "--payments", "50", "--out", "o").returncode == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "o").glob("*.avro")}
    again = synthpay(tmp_path, *BACKFILL, "--payments", "50", "--out", "o", "--seed", "4")
    assert again.returncode == 2
    assert error_lines(again.stderr) == again.stderr.strip().splitlines()
    assert "holds 8 .avro file(s) of an earlier run" in again.stderr and "--overwrite" in again.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "o").glob("*.avro")} == before


def test_a_refused_rerun_with_processes_is_a_refusal_too(tmp_path: Path) -> None:
    assert synthpay(tmp_path, *BACKFILL, "--payments", "50", "--out", "o").returncode == 0
    again = synthpay(tmp_path, *BACKFILL, "--payments", "50", "--out", "o", "--seed", "4", "--processes", "2")
    assert again.returncode == 2
    assert "holds 8 .avro file(s) of an earlier run" in again.stderr


def test_a_rerun_with_the_same_run_id_is_the_same_run(tmp_path: Path) -> None:
    for _ in range(2):
        done = synthpay(tmp_path, *BACKFILL, "--payments", "50", "--out", "o", "--run-id", "fixed")
        assert done.returncode == 0, done.stderr


def test_overwrite_removes_the_earlier_runs_files(tmp_path: Path) -> None:
    (tmp_path / "extra.toml").write_text(
        '[statuses]\nHeld = { delay_ms = 5 }\n\n[[workflows]]\nsteps = ["Initiated", "Held"]\n'
    )
    assert synthpay(tmp_path, *BACKFILL, "--payments", "50", "--out", "o", "--config", "extra.toml").returncode == 0
    assert (tmp_path / "o" / "payment-held.avro").exists()
    done = synthpay(tmp_path, *BACKFILL, "--payments", "50", "--out", "o", "--overwrite")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "o" / "payment-held.avro").exists()
    assert len(records_per_file(tmp_path / "o")) == 8


# -- SIGKILL


def test_after_sigkill_every_file_is_readable_and_the_directory_free(tmp_path: Path) -> None:
    run = start_daemon(tmp_path, "--out", "o")
    time.sleep(2.5)  # past a timed flush or two, so the files hold blocks
    run.kill()
    run.communicate(timeout=30)
    counts = {path.stem: records_before_a_cut(path) for path in (tmp_path / "o").glob("*.avro")}
    assert len(counts) == 8 and counts["payment-initiated"] > 0
    # The kernel dropped the dead run's lock: a new run may take the directory.
    assert synthpay(tmp_path, *BACKFILL, "--payments", "10", "--out", "o", "--overwrite").returncode == 0


# -- what failed, named


def test_an_install_without_its_schemas_names_the_schema_not_the_directory(tmp_path: Path) -> None:
    # The package alone, without the avro/ directory of .avsc files beside it: a broken install.
    shutil.copytree(
        Path(synthpay_package.__file__).parent, tmp_path / "pkg" / "synthpay", ignore=shutil.ignore_patterns("*.pyc")
    )
    done = subprocess.run(
        [*PY, *BACKFILL, "--payments", "3", "--out", "o"],
        cwd=tmp_path,
        env=subprocess_env(PYTHONPATH=str(tmp_path / "pkg")),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert error_lines(done.stderr) == [
        "synthpay: error: file sink: cannot read the 'payment' schema for 'payment-initiated': "
        "avro/payment.avsc not found beside the synthpay package"
    ]
    assert not (tmp_path / "o").exists()


# -- paths stay inside --out


@pytest.mark.parametrize("name", ["../x", "a/b", "/tmp/x", ".", "..", "", "a b", "x" * 250, "é"])
def test_a_status_topic_that_is_no_kafka_topic_name_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "config.toml").write_text(f"[statuses]\nInitiated = {{ topic = {json.dumps(name)} }}\n")
    done = synthpay(tmp_path, *BACKFILL, "--payments", "1", "--out", "o")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "statuses.Initiated.topic" in done.stderr
    assert not (tmp_path / "o").exists() and not (tmp_path / "x.avro").exists()


@pytest.mark.parametrize("name", ["../banks", "a/b", "..", ""])
def test_a_banks_topic_that_is_no_kafka_topic_name_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "config.toml").write_text(f"[entities]\nbanks_topic = {json.dumps(name)}\n")
    done = synthpay(tmp_path, "validate")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "entities.banks_topic" in done.stderr


def test_topic_names_kafka_accepts_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        f'[entities]\nbanks_topic = "b.a_n-k"\n[statuses]\nInitiated = {{ topic = "{"i" * 249}" }}\n'
    )
    done = synthpay(tmp_path, *BACKFILL, "--payments", "5", "--out", "o")
    assert done.returncode == 0, done.stderr
    assert {"b.a_n-k", "i" * 249} <= set(read_avro(tmp_path / "o"))
