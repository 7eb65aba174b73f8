"""``--summary-json``: a path it cannot be written to is refused before the run generates anything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from synthpay import cli

RUN = ["run", "--payments", "3", "--clock", "virtual", "--out", "out"]
EXPECTED = "expected a regular file, or a new one in an existing, writable directory"


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI reads ./config.toml and ./.env: run it from an empty temporary directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_summary_in_a_missing_directory_is_refused_before_the_run(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*RUN, "--summary-json", "no/such/s.json"]) == 2
    out, err = capsys.readouterr()
    assert err == (
        "synthpay: config error: --summary-json (run.summary_json) = 'no/such/s.json' (command line): "
        f"its directory 'no/such' does not exist; {EXPECTED}\n"
    )
    assert out == "" and not (in_tmp / "out").exists()  # nothing generated


@pytest.mark.timeout(20)
def test_a_summary_to_a_fifo_is_refused_without_waiting_for_a_reader(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    os.mkfifo(in_tmp / "pipe")
    monkeypatch.setenv("SYNTHPAY_RUN_SUMMARY_JSON", "pipe")
    assert cli.main(RUN) == 2
    assert capsys.readouterr().err == (
        f"synthpay: config error: --summary-json (run.summary_json) = 'pipe' (environment): it is a fifo; {EXPECTED}\n"
    )
    assert not (in_tmp / "out").exists()


def test_a_summary_over_a_regular_file_is_written(in_tmp: Path) -> None:
    (in_tmp / "s.json").write_text("an earlier run's")
    assert cli.main([*RUN, "--summary-json", "s.json"]) == 0
    assert (in_tmp / "s.json").read_text().startswith("{")
