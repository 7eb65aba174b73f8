"""synthpay compare through the command line: exit codes, --json, one-line errors, generating from a configuration."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from synthpay import cli
from synthpay.cli.exitcodes import ExitCode

#: A scenario whose delays are drawn: two seeds differ in every delay, as two samples do.
SCENARIO = "scenario:acquirer-outage"
SMALL = ["--payments", "3000"]


def _run(into: Path, seed: int) -> Path:
    code = cli.main(
        [
            *("run", "--scenario", SCENARIO.removeprefix("scenario:"), "--clock", "virtual", "--sink", "file"),
            *("--out", str(into), "--seed", str(seed), "--log-level", "warning", *SMALL),
        ]
    )
    assert code == ExitCode.OK
    return into


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two small runs of one scenario, under two seeds."""
    base = tmp_path_factory.mktemp("runs")
    return _run(base / "one", 1), _run(base / "two", 2)


def test_a_run_compared_with_itself_exits_0(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["compare", str(runs[0]), str(runs[0])]) == ExitCode.OK
    assert capsys.readouterr().out.splitlines()[-1].startswith("OK: all")


def test_two_seeds_of_one_scenario_exit_0(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["compare", str(runs[0]), str(runs[1])]) == ExitCode.OK


def test_a_threshold_flag_crossed_exits_1(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    # Two seeds never draw the very same delays: a KS of 0 without noise allowance fails.
    assert cli.main(["compare", str(runs[0]), str(runs[1]), "--max-ks", "0", "--sigmas", "0"]) == ExitCode.FAILED
    assert capsys.readouterr().out.splitlines()[-1].startswith("FAILED: ")


def test_json_dash_prints_the_document_instead_of_the_table(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["compare", str(runs[0]), str(runs[1]), "--json", "-"]) == ExitCode.OK
    document = json.loads(capsys.readouterr().out)
    assert document["passed"] is True and document["a"]["label"] == str(runs[0])


def test_json_file_is_written_beside_the_table(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written = tmp_path / "cmp.json"
    cli.main(["compare", str(runs[0]), str(runs[1]), "--json", str(written), "--max-ks", "0", "--sigmas", "0"])
    assert json.loads(written.read_text())["failed"] >= 1
    assert capsys.readouterr().out.startswith("A: ")


@pytest.mark.parametrize(
    ("b", "named"),
    [
        ("no-such.csv", "no-such.csv"),
        ("no-such.toml", "no-such.toml"),
        ("scenario:no-such", "scenario:no-such"),
        ("events.txt", "events.txt"),
        ("kafka", "kafka"),  # no cluster configured
    ],
)
def test_a_bad_b_is_one_line_naming_it_exit_2(
    runs: tuple[Path, Path], b: str, named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "events.txt").write_text("id,status,ts\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        assert cli.main(["compare", str(runs[0]), b]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err and "Traceback" not in err


def test_an_empty_csv_is_one_line_exit_2(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("id,status,ts\n")
    assert cli.main(["compare", str(empty), str(runs[0])]) == ExitCode.USAGE
    assert capsys.readouterr().err == f"synthpay: error: {empty}: no events\n"


def test_a_bad_start_for_a_generated_side_is_one_line_exit_2(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["compare", str(runs[0]), SCENARIO, "--start", "yesterday"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--start" in err


def test_a_negative_threshold_is_a_usage_error(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["compare", str(runs[0]), str(runs[1]), "--max-ks", "-1"])
    assert exited.value.code == ExitCode.USAGE


def test_a_generated_side_is_labelled_with_its_seed_and_leaves_nothing_behind(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        patch.setattr(tempfile, "tempdir", str(tmp_path))
        cli.main(["compare", str(runs[0]), SCENARIO, "--seed", "7", *SMALL])
        made = list(tmp_path.iterdir())
    assert f"B: {SCENARIO} (generated, seed 7): 3,000 payments" in capsys.readouterr().out
    assert made == []


def test_a_generated_config_file_is_read_as_run_would(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["scenarios", SCENARIO.removeprefix("scenario:")]) == ExitCode.OK
    config = tmp_path / "outage.toml"
    config.write_text(capsys.readouterr().out)
    assert cli.main(["compare", str(config), SCENARIO, "--seed", "3", *SMALL]) == ExitCode.OK


@pytest.mark.parametrize(
    ("kind", "row"),
    [
        ("duplicate", "duplicates / events"),
        ("late", "late / events"),
        ("out_of_order", "out_of_order / payments"),
        ("missing", "missing / payments"),
    ],
)
def test_each_anomaly_kind_generated_in_b_alone_fails_its_rate(
    kind: str, row: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["scenarios", SCENARIO.removeprefix("scenario:")]) == ExitCode.OK
    clean, dirty = tmp_path / "clean.toml", tmp_path / "dirty.toml"
    clean.write_text(capsys.readouterr().out)
    dirty.write_text(clean.read_text() + f"\n[anomalies]\n{kind} = 0.01\n")
    fixed = ["--start", "2026-01-31T09:00:00Z", "--seed", "1", *SMALL, "--json", "-"]
    assert cli.main(["compare", str(clean), str(dirty), *fixed]) == ExitCode.FAILED
    failed = {r["name"] for r in json.loads(capsys.readouterr().out)["rows"] if r["passed"] is False}
    assert row in failed


@pytest.mark.slow
def test_one_scenario_under_two_seeds_passes_at_100k_payments(capsys: pytest.CaptureFixture[str]) -> None:
    """The noise floor of the round trip: what compare sees between two samples of one model.

    A fixed start: a backfill is not capped at the default payment count.
    """
    fixed = ["--start", "2026-01-31T09:00:00Z", "--payments", "100000"]
    code = cli.main(["compare", SCENARIO, SCENARIO, "--seed", "1", "--seed-b", "2", *fixed, "--json", "-"])
    document = json.loads(capsys.readouterr().out)
    assert code == ExitCode.OK, [row for row in document["rows"] if row["passed"] is False]
    assert document["a"]["payments"] >= 99_000 and document["b"]["payments"] >= 99_000
