"""Several --config files, each layered over the ones before it, and where each value came from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from synthpay import config
from synthpay.config.errors import ConfigError

MINE = """
[run]
payments = 500
workers = 7

[statuses]
Initiated = { topic = "mine-initiated", partitions = 3 }

[kafka.config]
"acks" = "all"
"linger.ms" = 5

[[phases]]
name = "mine"
at_s = 0
duration_s = 60
"""

SCENARIO = """
[run]
payments = 900
rate = 10

[statuses]
Initiated = { delay = { dist = "uniform", min_ms = 20, max_ms = 150 } }

[kafka.config]
"linger.ms" = 50

[[phases]]
name = "peak"
at_s = 100
duration_s = 10

[[phases]]
name = "after"
at_s = 200
duration_s = 10
"""


def layered(tmp_path: Path, **env: str) -> config.Loaded:
    (tmp_path / "mine.toml").write_text(MINE)
    (tmp_path / "scenario.toml").write_text(SCENARIO)
    return config.load_with_origins(config_path=["mine.toml", "scenario.toml"], env=env, cwd=tmp_path)


def test_the_later_file_wins_a_setting_both_give(tmp_path: Path) -> None:
    run = layered(tmp_path).settings.run
    assert (run.payments, run.workers, run.rate) == (900, 7, 10)


def test_a_status_takes_each_field_from_the_last_file_that_gives_it(tmp_path: Path) -> None:
    initiated = layered(tmp_path).settings.statuses["Initiated"]
    assert (initiated.topic, initiated.partitions) == ("mine-initiated", 3)
    assert initiated.delay is not None and initiated.delay.dist == "uniform"


def test_a_delay_ms_in_a_later_file_replaces_an_earlier_delay_table(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('[statuses]\nFailed = { delay = { dist = "exponential", mean_ms = 50 } }\n')
    (tmp_path / "b.toml").write_text("[statuses]\nFailed = { delay_ms = 70 }\n")
    failed = config.load(config_path=["a.toml", "b.toml"], env={}, cwd=tmp_path).statuses["Failed"]
    assert (failed.delay_ms, failed.delay) == (70, None)


def test_kafka_config_merges_key_by_key(tmp_path: Path) -> None:
    assert dict(layered(tmp_path).settings.kafka.config) == {"acks": "all", "linger.ms": "50"}


def test_phases_of_a_later_file_replace_the_earlier_ones_whole(tmp_path: Path) -> None:
    assert [p.name for p in layered(tmp_path).settings.phases] == ["peak", "after"]


def test_synthpay_config_may_name_several_files(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(MINE)
    (tmp_path / "scenario.toml").write_text(SCENARIO)
    settings = config.load(env={"SYNTHPAY_CONFIG": f"mine.toml{os.pathsep}scenario.toml"}, cwd=tmp_path)
    assert (settings.run.payments, settings.run.workers) == (900, 7)
    assert settings.source == os.pathsep.join(str(tmp_path / name) for name in ("mine.toml", "scenario.toml"))


def test_a_bad_value_in_the_second_file_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(MINE)
    (tmp_path / "scenario.toml").write_text("[statuses]\nInitiated = { partitions = 0 }\n")
    with pytest.raises(ConfigError) as info:
        config.load(config_path=["mine.toml", "scenario.toml"], env={}, cwd=tmp_path)
    assert (
        str(info.value) == "statuses.Initiated.partitions = 0 (scenario.toml): expected a whole number from 1 to 10_000"
    )


def test_an_unknown_setting_is_refused_naming_its_file(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(MINE)
    (tmp_path / "scenario.toml").write_text("[run]\npaymentz = 1\n")
    with pytest.raises(ConfigError, match=r"^scenario\.toml: unknown setting 'run\.paymentz'"):
        config.load(config_path=["mine.toml", "scenario.toml"], env={}, cwd=tmp_path)


def test_a_status_added_without_a_delay_names_the_file_that_added_it(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text("[statuses]\nSettled = { partitions = 2 }\n")
    (tmp_path / "b.toml").write_text('[statuses]\nSettled = { topic = "settled" }\n')
    with pytest.raises(ConfigError) as info:
        config.load(config_path=["a.toml", "b.toml"], env={}, cwd=tmp_path)
    assert str(info.value) == "statuses.Settled.delay_ms (a.toml): missing; expected a value"


def test_files_of_the_same_name_are_named_by_their_paths(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "config.toml").write_text("[run]\nworkers = 3\n")
    (tmp_path / "other" / "config.toml").write_text("[run]\nworkers = 0\n")
    with pytest.raises(ConfigError, match=r"^run\.workers = 0 \(other/config\.toml\): expected"):
        config.load(config_path=["config.toml", "other/config.toml"], env={}, cwd=tmp_path)


def test_origins_name_the_layer_of_each_value(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("NUM_SOURCES=4\n")
    (tmp_path / "mine.toml").write_text(MINE)
    (tmp_path / "scenario.toml").write_text(SCENARIO)
    origins = config.load_with_origins(
        config_path=["mine.toml", "scenario.toml"],
        env={"NUM_DESTINATIONS": "5", "DELAY_FAILED": "9"},
        flags={"run.seed": "1"},
        cwd=tmp_path,
    ).origins
    assert {
        key: origins[key]
        for key in (
            "run.clock",
            "run.workers",
            "run.payments",
            "entities.sources",
            "entities.destinations",
            "run.seed",
            "statuses.Initiated.topic",
            "statuses.Initiated.delay",
            "statuses.Failed.delay_ms",
            "statuses.Failed.topic",
            "kafka.config.acks",
            "kafka.config.linger.ms",
            "phases",
            "workflows",
        )
    } == {
        "run.clock": "default",
        "run.workers": "mine.toml",
        "run.payments": "scenario.toml",
        "entities.sources": ".env",
        "entities.destinations": "environment",
        "run.seed": "command line",
        "statuses.Initiated.topic": "mine.toml",
        "statuses.Initiated.delay": "scenario.toml",
        "statuses.Failed.delay_ms": "environment",
        "statuses.Failed.topic": "default",
        "kafka.config.acks": "mine.toml",
        "kafka.config.linger.ms": "scenario.toml",
        "phases": "scenario.toml",
        "workflows": "default",
    }


def test_a_secret_read_from_a_file_comes_from_the_layer_that_named_the_file(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("hunter2\n")
    origins = config.load_with_origins(env={"KAFKA_SASL_PASSWORD_FILE": "pw"}, cwd=tmp_path).origins
    assert origins["kafka.sasl_password"] == "environment"
