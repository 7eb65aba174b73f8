"""``synthpay scenarios`` lists and prints the named scenarios; ``--scenario`` runs one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO_DIR

from synthpay import cli

SHIPPED = REPO_DIR / "synthpay" / "scenarios"


def test_the_list_has_a_line_per_scenario_with_its_description(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == sorted(p.stem for p in SHIPPED.glob("*.toml"))
    assert lines[0].endswith(
        "Acquirer outage: 45 minutes of traffic; from minute 15 to 30 failures surge and validation slows."
    )


def test_a_name_prints_the_scenarios_toml(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["scenarios", "flash-sale"]) == 0
    assert capsys.readouterr().out == (SHIPPED / "flash-sale.toml").read_text()


def test_the_list_needs_no_valid_configuration(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (in_tmp / "config.toml").write_text("not toml [")
    assert cli.main(["scenarios"]) == 0


@pytest.mark.parametrize("argv", [["scenarios", "flashsale"], ["run", "--scenario", "flashsale"]])
def test_an_unknown_scenario_is_one_line_and_exit_2(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such scenario; did you mean 'flash-sale'?" in err
    assert not (in_tmp / "out").exists()


def test_validate_names_the_scenario_as_the_origin_of_its_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "--scenario", "slow-settlement", "--rate", "9"]) == 0
    origins = json.loads(capsys.readouterr().out)["origins"]
    assert origins["run.seed"] == f"scenario slow-settlement ({SHIPPED / 'slow-settlement.toml'})"
    assert origins["run.rate"] == "command line"


def test_a_scenario_runs_twice_in_one_directory(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "--scenario", "acquirer-outage", "--duration", "5", "--log-level", "warning"]
    assert cli.main(argv) == 0
    assert cli.main(argv) == 0
    runs = [p for p in (in_tmp / "out").iterdir() if not p.is_symlink()]
    assert len(runs) == 2 and all((run / "summary.json").is_file() for run in runs)
