"""``synthpay preview``, and ``--sink stdout``'s labels and closed pipe."""

from __future__ import annotations

import io
import json
import os
import pty
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import START, subprocess_env

from synthpay import cli

PY = [sys.executable, "-m", "synthpay"]
SEEDED = ["--seed", "7", "--start", START, "--run-id", "look"]
#: A run with a phase from its start and anomalies in it: every label a payment event can carry.
LABELLED_RUN = """
[run]
rate = 200
duration_s = 20

[[phases]]
name = "rush"
at_s = 0
duration_s = 20
anomalies = { late = 0.3, duplicate = 0.3 }
"""


def json_lines(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_preview_prints_exactly_count_payment_events(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = json_lines(["preview", "--count", "7", "--format", "json"], capsys)
    assert len(events) == 7
    assert all(e["topic"].startswith("payment-") and e["key"] == e["value"]["id"] for e in events)


def test_preview_shows_banks_only_when_asked_and_does_not_count_them(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = json_lines(["preview", "--count", "2", "--banks", "--format", "json"], capsys)
    banks = [e for e in events if e["topic"] == "banks"]
    assert banks and len(events) - len(banks) == 2


def test_preview_writes_nothing_and_prints_no_tables(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["preview", "--count", "3", "--format", "json", "--summary-json", "s.json"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert "TOTAL" not in out
    assert list(in_tmp.iterdir()) == []


def test_a_seeded_preview_is_the_start_of_the_same_seeded_run(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shown = json_lines(["preview", "--count", "25", "--format", "json", *SEEDED], capsys)
    ran = json_lines(["run", "--sink", "stdout", "--clock", "virtual", "--payments", "40", *SEEDED], capsys)
    assert shown == [e for e in ran if e["topic"] != "banks"][:25]


def test_preview_labels_each_event_as_the_kafka_headers_would(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (in_tmp / "labelled.toml").write_text(LABELLED_RUN)
    events = json_lines(["preview", "--config", "labelled.toml", "--count", "60", "--format", "json", *SEEDED], capsys)
    assert len(events) == 60
    for event in events:
        headers = event["headers"]
        assert headers["run_id"] == "look" and headers["phase"] == "rush"
        assert headers["status"] == event["value"]["status"]
        assert headers.get("anomaly", "late") in ("late", "duplicate")
    assert {e["headers"].get("anomaly") for e in events} >= {None, "late", "duplicate"}


def test_stdout_sink_lines_carry_the_labels(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (in_tmp / "labelled.toml").write_text(LABELLED_RUN)
    argv = ["run", "--config", "labelled.toml", "--sink", "stdout", "--clock", "virtual", "--duration", "1", *SEEDED]
    events = json_lines(argv, capsys)
    banks = [e for e in events if e["topic"] == "banks"]
    payments = [e for e in events if e["topic"].startswith("payment-")]
    assert banks and payments
    assert all(e["headers"] == {"run_id": "look"} for e in banks)
    assert all(e["headers"]["phase"] == "rush" and e["headers"]["status"] == e["value"]["status"] for e in payments)
    assert any("anomaly" in e["headers"] for e in payments)


def _on_a_terminal(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> str:
    """What ``synthpay preview`` prints when its stdout is a pseudo-terminal."""
    master, slave = pty.openpty()
    with open(slave, "w", encoding="utf-8") as terminal:
        monkeypatch.setattr(sys, "stdout", terminal)
        assert cli.main(["preview", *argv]) == 0
    shown = b""
    # Two events are far less than a terminal's buffer: all of it is there to read.
    while chunk := _read(master):
        shown += chunk
    os.close(master)
    return shown.decode()


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: every byte read and the writing side closed
        return b""


def test_preview_at_a_terminal_is_readable_not_json(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    shown = _on_a_terminal(monkeypatch, ["--count", "2", *SEEDED])
    assert "{" not in shown and "\x1b[" not in shown
    blocks = [line for line in shown.splitlines() if line.startswith("payment-")]
    assert len(blocks) == 2
    for field in ("value", "headers", "status=Initiated", "run_id=look", "currency=", "amount=", "2026-01-31T"):
        assert field in shown


def test_preview_at_a_terminal_is_coloured_unless_no_color(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert "\x1b[" in _on_a_terminal(monkeypatch, ["--count", "1", *SEEDED])


def test_preview_in_a_pipe_is_json_lines(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stdout", piped)
    assert cli.main(["preview", "--count", "2"]) == 0
    assert [json.loads(line)["topic"] for line in piped.getvalue().splitlines()] == ["payment-initiated"] * 2


class _ClosedAfterOneWrite(io.StringIO):
    """A stdout whose reader goes away after the first write, as `| head -n 1` does."""

    def write(self, text: str) -> int:
        if self.getvalue():
            raise BrokenPipeError
        return super().write(text)


# Pretty writes each event, JSON each batch: more events than the first batch holds.
@pytest.mark.parametrize(("form", "count"), [("pretty", "5"), ("json", "20000")])
def test_preview_ends_quietly_when_its_reader_closes_stdout(
    form: str, count: str, in_tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdout", _ClosedAfterOneWrite())
    assert cli.main(["preview", "--count", count, "--format", form]) == 0
    assert capsys.readouterr().err == ""


def test_preview_rejects_a_count_below_one(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["preview", "--count", "0"])
    assert exited.value.code == 2
    assert "--count: expected a whole number of events >= 1, got '0'" in capsys.readouterr().err


def test_follow_goes_on_live_until_sigint_then_exits_0(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*PY, "preview", "--follow", "--format", "json", "--run-id", "live"],
        cwd=tmp_path,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        # Read on from the same buffer (communicate() would skip what it holds); stderr has
        # warnings at most, far less than a pipe holds.
        rest = proc.stdout.read()
        err = proc.stderr.read()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    shown = [json.loads(line) for line in [first, *rest.splitlines()]]  # whole lines, to the last
    assert {e["headers"]["run_id"] for e in shown} == {"live"}


def test_stdout_sink_ends_quietly_when_the_reader_closes_the_pipe(tmp_path: Path) -> None:
    # `synthpay run --sink stdout | head -n 3`: far more than a pipe holds, read 3 lines, close.
    argv = [*PY, "run", "--sink", "stdout", "--clock", "virtual", "--payments", "5000"]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        head = [proc.stdout.readline() for _ in range(3)]
        proc.stdout.close()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert [json.loads(line)["topic"] for line in head] == ["banks"] * 3
    logged = [json.loads(line) for line in err.decode().splitlines()]  # JSON log lines only: no traceback, no tables
    assert [e["event"] for e in logged][-2:] == ["reader_gone", "run_end"]
