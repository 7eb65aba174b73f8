"""Where a file-sink run writes: a directory of its own (``out/{run_id}``) with its summary,
``out/latest`` at the newest, and an ``--out`` without ``{run_id}`` as given."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import read_avro

from synthpay import cli
from synthpay.config import placeholders
from synthpay.config.parsers import Parser

RUN = ["run", "--payments", "20", "--clock", "virtual", "--log-level", "warning"]


def test_two_default_runs_in_one_directory_each_get_their_own_and_latest_is_the_second(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*RUN, "--run-id", "first"]) == 0
    assert cli.main([*RUN, "--run-id", "second"]) == 0
    assert sorted(p.name for p in (in_tmp / "out").iterdir()) == ["first", "latest", "second"]
    assert os.readlink(in_tmp / "out" / "latest") == "second"
    assert read_avro(in_tmp / "out" / "first") and read_avro(in_tmp / "out" / "second")


def test_a_default_run_writes_its_summary_beside_its_files_and_says_where(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(RUN) == 0
    out = capsys.readouterr().out
    summary = json.loads((in_tmp / "out" / "latest" / "summary.json").read_text())
    where = f"out/{summary['run_id']}"
    assert sum(len(r) for r in read_avro(in_tmp / where).values()) == summary["delivered"]
    assert f"Files: {where} (out/latest links there)\n" in out
    assert f"Summary: {where}/summary.json\n" in out


def test_an_out_without_run_id_is_one_directory_a_second_run_refuses_as_before(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*RUN, "--out", "o"]) == 0
    assert cli.main([*RUN, "--out", "o"]) == 2
    assert "holds 8 .avro file(s) of an earlier run" in capsys.readouterr().err
    assert not (in_tmp / "latest").exists() and (in_tmp / "o" / "summary.json").is_file()


def test_run_id_in_the_summary_path_is_the_runs(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*RUN, "--run-id", "r7", "--out", "runs/{run_id}/files", "--summary-json", "s-{run_id}.json"]
    assert cli.main(argv) == 0
    assert json.loads((in_tmp / "s-r7.json").read_text())["run_id"] == "r7"
    assert read_avro(in_tmp / "runs" / "r7" / "files")
    assert not (in_tmp / "runs" / "latest").exists()  # {run_id} is not the last part: no link


def test_a_latest_that_is_no_link_stays_and_the_run_still_succeeds(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (in_tmp / "out" / "latest").mkdir(parents=True)
    assert cli.main(RUN) == 0
    assert (in_tmp / "out" / "latest").is_dir() and not (in_tmp / "out" / "latest").is_symlink()


def test_other_sinks_write_no_summary_by_default(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([*RUN, "--sink", "null"]) == 0
    assert list(in_tmp.iterdir()) == []


def test_processes_share_the_runs_directory(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([*RUN, "--processes", "2", "--run-id", "p"]) == 0
    written = sorted(p.name for p in (in_tmp / "out" / "p").glob("banks*.avro"))
    assert written == ["banks.part0.avro", "banks.part1.avro"]
    assert json.loads((in_tmp / "out" / "latest" / "summary.json").read_text())["run_id"] == "p"


@pytest.mark.parametrize(
    ("template", "expanded"),
    [("out/{run_id}", "out/abc"), ("{run_id}/{run_id}.json", "abc/abc.json"), ("plain", "plain")],
)
def test_run_id_is_filled_in_wherever_it_is(template: str, expanded: str) -> None:
    assert placeholders.expand(template, "abc") == expanded


@pytest.mark.parametrize("template", ["out/{runid}", "out/{}", "out/{run-id}", "{scenario}"])
def test_any_other_placeholder_is_refused(template: str) -> None:
    parser: Parser[str] = placeholders.path_template
    with pytest.raises(ValueError, match=r"\{run_id\} in it stands for the run id"):
        parser(template, True)


def test_a_mistyped_placeholder_in_out_is_one_line_and_exit_2(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([*RUN, "--out", "out/{runid}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("synthpay: config error: --out = 'out/{runid}' (command line): expected a path;")
    assert err.count("\n") == 1 and "Traceback" not in err
