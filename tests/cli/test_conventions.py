"""The command line's conventions: --version, defaults in --help, the connection flags, and
librdkafka's check of [kafka.config] before anything runs."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import pytest

from synthpay import cli
from synthpay.cli import args
from synthpay.config import parsers
from synthpay.config.settings import Declaration


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert (exited.value.code, capsys.readouterr().out) == (0, f"synthpay {version('synthpay')}\n")


def help_of(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    # argparse wraps lines: the words are what counts.
    return " ".join(capsys.readouterr().out.split())


def test_help_shows_a_flags_default(capsys: pytest.CaptureFixture[str]) -> None:
    shown = help_of("run", capsys)
    assert "--payments N payments to generate; 0 runs until stopped (NUM_PAYMENTS) (default: 100000)" in shown
    assert "--registry URL schema registry URL (SCHEMA_REGISTRY_ENDPOINT) (default: http://localhost:8081)" in shown


def test_help_shows_no_empty_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--run-id ID the run id carried in every record's run_id header (default: a new UUID) --" in help_of(
        "validate", capsys
    )


def test_help_never_shows_a_secrets_default() -> None:
    declared = Declaration("kafka.sasl_password", "sasl_password", "hunter2", parsers.secret, "SASL password")
    assert args._flag_help(declared) == "SASL password"


def test_help_doubles_a_percent_sign_for_argparse() -> None:
    declared = Declaration("run.x", "x", "50%", parsers.text, "share")
    assert args._flag_help(declared) == "share (default: 50%%)"


def test_the_connection_flags_set_their_settings(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        ["validate", "--bootstrap-servers", "broker:9092", "--registry", "https://registry:8081"], capsys
    )
    described = json.loads(out)
    assert code == 0
    assert (described["kafka"]["bootstrap_servers"], described["schema_registry"]["url"]) == (
        "broker:9092",
        "https://registry:8081",
    )
    assert described["origins"]["schema_registry.url"] == "command line"


@pytest.mark.parametrize(
    ("table", "line"),
    [
        (
            '"linger.msx" = 5',
            "synthpay: config error: kafka.config.\"linger.msx\" = '5' (config.toml): rejected by the Kafka "
            'client: No such configuration property: "linger.msx" (_INVALID_ARG)\n',
        ),
        (
            '"compression.type" = "zstdx"',
            "synthpay: config error: kafka.config.\"compression.type\" = 'zstdx' (config.toml): rejected by the "
            'Kafka client: Invalid value "zstdx" for configuration property "compression.codec" (_INVALID_ARG)\n',
        ),
    ],
    ids=["unknown", "bad-value"],
)
def test_validate_has_librdkafka_check_kafka_config(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], table: str, line: str
) -> None:
    (in_tmp / "config.toml").write_text(f"[kafka.config]\n{table}\n")
    assert run_cli(["validate"], capsys)[::2] == (2, line)


def test_validate_accepts_what_librdkafka_accepts(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (in_tmp / "config.toml").write_text('[kafka.config]\n"linger.ms" = 5\nacks = "all"\n')
    assert run_cli(["validate"], capsys)[0] == 0


def test_a_kafka_run_is_refused_before_it_starts(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Port 1 answers nothing: the line can only come from the check made before connecting.
    (in_tmp / "config.toml").write_text('[kafka.config]\n"linger.msx" = 5\n')
    code, _, err = run_cli(["run", "--bootstrap-servers", "127.0.0.1:1", "--payments", "1"], capsys)
    assert (code, err.splitlines()) == (2, [err.splitlines()[0]])
    assert err.startswith("synthpay: config error: kafka.config.\"linger.msx\" = '5' (config.toml): ")
    assert not (in_tmp / "out").exists()
