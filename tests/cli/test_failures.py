"""How a run that stops with an error ends: known errors as one line and an exit code, bugs as tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthpay import cli
from synthpay.config.errors import ConfigError
from synthpay.engine.engine import Engine
from synthpay.sinks.base import SinkError, SinkRefused
from synthpay.summary.document import Summary

RUN = ["run", "--payments", "3", "--clock", "virtual", "--sink", "null"]


#: The CLI reads ./config.toml and ./.env: every test here runs from an empty temporary directory.
pytestmark = pytest.mark.usefixtures("in_tmp")


def engine_raising(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    """Make the engine's run end with ``error``, as Trio would raise it out of a nursery."""

    async def run(self: Engine) -> Summary:
        raise error

    monkeypatch.setattr(Engine, "run", run)


def test_a_bug_beside_a_known_error_propagates(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine_raising(monkeypatch, ExceptionGroup("run", [ConfigError("bad value"), RuntimeError("a bug")]))
    with pytest.raises(ExceptionGroup) as raised:
        cli.main(RUN)
    assert [(type(e), str(e)) for e in raised.value.exceptions] == [(RuntimeError, "a bug")]
    assert "synthpay: error:" not in capsys.readouterr().err


def test_a_bug_alone_propagates_as_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    engine_raising(monkeypatch, RuntimeError("a bug"))
    with pytest.raises(RuntimeError, match=r"^a bug$"):
        cli.main(RUN)


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (ExceptionGroup("run", [SinkRefused("file sink: 'out' is in use")]), 2, "file sink: 'out' is in use"),
        (ExceptionGroup("run", [ExceptionGroup("io", [ConfigError("kafka.acks = '1'")])]), 2, "kafka.acks = '1'"),
        (ExceptionGroup("run", [SinkError("kafka: lost"), SinkRefused("later")]), 1, "kafka: lost"),
        (SinkError("kafka: lost"), 1, "kafka: lost"),
    ],
    ids=["refused", "nested-config-error", "first-of-several", "not-in-a-group"],
)
def test_known_errors_end_in_one_line_and_their_code(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
    code: int,
    line: str,
) -> None:
    engine_raising(monkeypatch, error)
    assert cli.main(RUN) == code
    err = capsys.readouterr().err
    assert err.endswith(f"\nsynthpay: error: {line}\n") or err == f"synthpay: error: {line}\n"
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("blocker", "code"),
    [("file", 1), ("earlier-run", 2)],
    ids=["child-failed", "child-refused"],
)
def test_a_child_without_a_summary_gives_the_run_its_code(
    in_tmp: Path, capfd: pytest.CaptureFixture[str], blocker: str, code: int
) -> None:
    out = in_tmp / "out"
    out.mkdir()
    if blocker == "file":
        # This run's own directory, with a directory where a topic's file goes: a failed run.
        (out / ".synthpay.run").write_text("r1\n")
        (out / "payment-initiated.part0.avro").mkdir()
    else:
        (out / "payment-initiated.avro").write_text("")  # files of an earlier run, without --overwrite: a refusal
    argv = ["run", "--payments", "3", "--clock", "virtual", "--processes", "2", "--out", str(out), "--run-id", "r1"]
    assert cli.main(argv) == code
    err = capfd.readouterr().err
    assert err.endswith(
        f"synthpay: error: process 0 of 2 ended with exit code {code} and no summary (its log is above)\n"
    )
