"""``synthpay fit`` on the command line: where the config and the report go, and bad input as one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthpay import cli
from synthpay.calibrate import fitted_toml

START = "2026-01-31T09:00:00Z"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def generated(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A small seeded file-sink run."""
    argv = ["run", "--clock", "virtual", "--seed", "1", "--start", START, "--payments", "2000", "--out", "gen"]
    assert cli.main([*argv, "--log-level", "warning"]) == 0
    capsys.readouterr()
    return in_tmp / "gen"


def test_the_config_goes_to_stdout_and_the_report_to_stderr(
    generated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(["fit", str(generated)], capsys)
    assert code == 0
    assert out.startswith("# Fitted by `synthpay fit`")
    assert fitted_toml.load(out).run.clock == "virtual"
    assert "KS of each family" in err
    assert "timing: sequential" in err


def test_out_writes_the_config_into_a_file_and_json_the_report(
    generated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["fit", str(generated), "--out", "fitted.toml", "--json", "report.json"], capsys)
    assert code == 0
    assert out == ""
    settings = fitted_toml.load(Path("fitted.toml").read_text())
    report = json.loads(Path("report.json").read_text())
    assert report["input"]["payments"] == 2000
    assert [wf["steps"] for wf in report["workflows"]] == [list(wf.steps) for wf in settings.workflows]
    validated = next(s for s in report["statuses"] if s["name"] == "Validated")
    assert {f["dist"] for f in validated["families"]} >= {"fixed"}
    assert validated["chosen"] == {"dist": "fixed", "ms": 1000.0}


def test_the_fitted_config_runs_as_is(generated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["fit", str(generated), "--out", "fitted.toml"], capsys)[0] == 0
    code, _, err = _run(["run", "--config", "fitted.toml", "--out", "again", "--log-level", "warning"], capsys)
    assert code == 0, err
    summary = json.loads(Path("again/summary.json").read_text())
    assert summary["payments_started"] == pytest.approx(2000, rel=0.1)


def test_csv_with_named_columns_and_iso_times(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = ["payment_id,status,changed_at"]
    for i in range(200):
        t = 1000 * i
        rows += [
            f"p{i},Initiated,2026-01-31T09:{t // 60_000:02d}:{t // 1000 % 60:02d}.000Z",
            f"p{i},Done,2026-01-31T09:{(t + 1500) // 60_000:02d}:{(t + 1500) // 1000 % 60:02d}.500Z",
        ]
    Path("history.csv").write_text("\n".join(rows) + "\n")
    code, out, err = _run(["fit", "history.csv", "--id-column", "payment_id", "--time-column", "changed_at"], capsys)
    assert code == 0, err
    settings = fitted_toml.load(out)
    assert [wf.steps for wf in settings.workflows] == [("Initiated", "Done")]
    assert settings.run.rate == pytest.approx(1.0, rel=0.05)


def test_json_lines(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = []
    for i in range(100):
        lines.append(json.dumps({"id": f"p{i}", "status": "Initiated", "ts": 1_780_000_000_000 + 500 * i}))
        lines.append(json.dumps({"id": f"p{i}", "status": "Settled", "ts": 1_780_000_000_000 + 500 * i + 250}))
    Path("events.jsonl").write_text("\n".join(lines) + "\n")
    code, out, err = _run(["fit", "events.jsonl"], capsys)
    assert code == 0, err
    assert fitted_toml.load(out).statuses["Settled"].delay_ms == 250


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("nocolumn.csv", "payment_id,status,ts\np1,Initiated,1780000000000\n", 'line 1: no column "id"'),
        ("badtime.csv", "id,status,ts\np1,Initiated,31/01/2026\n", 'line 2: ts "31/01/2026" is not a time'),
        ("nostatus.csv", "id,status,ts\np1,,1780000000000\n", "line 2: status is empty"),
        ("empty.csv", "", "no events"),
        ("header.csv", "id,status,ts\n", "no events"),
        ("nocolumn.jsonl", '{"id": "p1", "ts": 1780000000000}\n', 'line 1: no column "status"'),
        ("badtime.jsonl", '{"id": "p1", "status": "Initiated", "ts": "x"}\n', 'line 1: ts "x" is not a time'),
        ("nostatus.jsonl", '{"id": "p1", "status": "", "ts": 1780000000000}\n', "line 1: status is empty"),
        ("empty.jsonl", "", "no events"),
    ],
)
def test_bad_input_is_one_line_naming_the_file_and_row_and_exit_2(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, problem: str
) -> None:
    Path(name).write_text(text)
    code, out, err = _run(["fit", name], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"synthpay: error: {name}")
    assert problem in err


def test_an_unknown_flag_is_a_usage_error(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["fit", "x.csv", "--no-such-flag"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_an_out_file_that_cannot_be_written_is_one_line_and_exit_2(
    generated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(["fit", str(generated), "--out", "no/such/dir/fitted.toml"], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("synthpay: error: --out no/such/dir/fitted.toml: cannot write it")
    assert err.count("\n") == 1
