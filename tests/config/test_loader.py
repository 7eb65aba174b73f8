"""Configuration layers, both spellings of the original's variables, and the shipped config.toml."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_DIR, START_MS, defaults_only

from synthpay import config
from synthpay.config.errors import ConfigError
from synthpay.config.settings import Secret, Settings


def get(settings: Settings, dotted: str) -> Any:
    obj: Any = settings
    for part in dotted.split("."):
        obj = obj[part] if isinstance(obj, dict) or hasattr(obj, "keys") else getattr(obj, part)
    return obj.value if isinstance(obj, Secret) else obj


def load_env(tmp_path: Path, env: dict[str, str], **kwargs: Any) -> Settings:
    return config.load(env=env, cwd=tmp_path, **kwargs)


# (variable, value given, setting, value expected)
ENV_CASES = [
    ("KAFKA_BOOTSTRAP_SERVER", "b1:9092", "kafka.bootstrap_servers", "b1:9092"),
    ("KAFKA_BOOTSTRAP_SERVERS", "b2:9092,b3:9092", "kafka.bootstrap_servers", "b2:9092,b3:9092"),
    ("SYNTHPAY_KAFKA_BOOTSTRAP_SERVERS", "b4:9092", "kafka.bootstrap_servers", "b4:9092"),
    ("KAFKA_SASL_USERNAME", "alice", "kafka.sasl_username", "alice"),
    ("KAFKA_SASL_PASSWORD", "s3cr3t", "kafka.sasl_password", "s3cr3t"),
    ("KAFKA_SECURITY_PROTOCOL", "sasl_plaintext", "kafka.security_protocol", "SASL_PLAINTEXT"),
    ("KAFKA_SASL_MECHANISMS", "SCRAM-SHA-512", "kafka.sasl_mechanisms", "SCRAM-SHA-512"),
    ("KAFKA_CLIENT_ID", "synthethic-payment-generator", "kafka.client_id", "synthethic-payment-generator"),
    ("SCHEMA_REGISTRY_ENDPOINT", "https://sr.example:8081", "schema_registry.url", "https://sr.example:8081"),
    ("SCHEMA_REGISTRY_API_KEY", "KEY1", "schema_registry.api_key", "KEY1"),
    ("SCHEMA_REGISTRY_API_SECRET", "SECRET1", "schema_registry.api_secret", "SECRET1"),
    ("NUM_PAYMENTS", "123", "run.payments", 123),
    ("NUM_PAYMENTS", "1_000", "run.payments", 1000),
    ("NUM_PAYMENTS", "0", "run.payments", 0),
    ("NUM_WORKERS", "1000", "run.workers", 1000),
    ("NUM_SOURCES", "3", "entities.sources", 3),
    ("NUM_DESTINATIONS", "4", "entities.destinations", 4),
    ("UPDATE_BANKS_INTERVAL", "250", "entities.bank_update_interval_ms", 250),
    ("UPDATE_BANKS_INTERVAL", "0", "entities.bank_update_interval_ms", 0),
    ("DELAY_INITIATED", "1", "statuses.Initiated.delay_ms", 1),
    ("DELAY_VALIDATED", "2", "statuses.Validated.delay_ms", 2),
    ("DELAY_ACCOUNTED", "3", "statuses.Accounted.delay_ms", 3),
    ("DELAY_COMPLETED", "4", "statuses.Completed.delay_ms", 4),
    ("DELAY_FAILED", "5000", "statuses.Failed.delay_ms", 5000),
    ("DELAY_REJECTED", "6", "statuses.Rejected.delay_ms", 6),
    ("DELAY_CANCELED", "7", "statuses.Canceled.delay_ms", 7),
    ("DELAY_CANCELLED", "8", "statuses.Canceled.delay_ms", 8),
    ("SYNTHPAY_RUN_PAYMENTS", "9", "run.payments", 9),
    ("SYNTHPAY_TIMING", "parallel", "timing", "parallel"),
    ("SYNTHPAY_SINK", "null", "run.sink", "null"),
    ("SYNTHPAY_CLOCK", "virtual", "run.clock", "virtual"),
    ("SYNTHPAY_SEED", "42", "run.seed", 42),
    ("SYNTHPAY_ENGINE_BATCH_SIZE", "17", "engine.batch_size", 17),
]


@pytest.mark.parametrize(("name", "value", "key", "expected"), ENV_CASES)
def test_environment_variable(tmp_path: Path, name: str, value: str, key: str, expected: Any) -> None:
    before = get(defaults_only(), key)
    assert before != expected  # the variable really changes something
    assert get(load_env(tmp_path, {name: value}), key) == expected


@pytest.mark.parametrize(("name", "value", "key", "expected"), ENV_CASES)
def test_dotenv_file_variable(tmp_path: Path, name: str, value: str, key: str, expected: Any) -> None:
    (tmp_path / ".env").write_text(f"# from the original's .env\n{name}={value}\n")
    assert get(load_env(tmp_path, {}), key) == expected


@pytest.mark.parametrize("name", ["KAFKA_BOOTSTRAP_SERVER", "KAFKA_BOOTSTRAP_SERVERS"])
def test_bootstrap_servers_make_kafka_the_default_sink(tmp_path: Path, name: str) -> None:
    settings = load_env(tmp_path, {name: "broker:9092"})
    assert (settings.run.sink, settings.run.sink_is_default) == ("kafka", True)
    settings = load_env(tmp_path, {})
    assert (settings.run.sink, settings.run.sink_is_default) == ("file", True)
    assert load_env(tmp_path, {name: "broker:9092", "SYNTHPAY_SINK": "null"}).run.sink == "null"


def test_canonical_name_beats_the_alias_in_one_layer(tmp_path: Path) -> None:
    env = {"SYNTHPAY_RUN_PAYMENTS": "1", "NUM_PAYMENTS": "2"}
    assert load_env(tmp_path, env).run.payments == 1


def test_every_original_variable_has_a_name() -> None:
    names = {n for names in config.env_names().values() for n in names}
    for original in (
        "KAFKA_BOOTSTRAP_SERVER",
        "KAFKA_BOOTSTRAP_SERVERS",
        "KAFKA_SASL_USERNAME",
        "KAFKA_SASL_PASSWORD",
        "KAFKA_SECURITY_PROTOCOL",
        "KAFKA_SASL_MECHANISMS",
        "KAFKA_CLIENT_ID",
        "SCHEMA_REGISTRY_ENDPOINT",
        "SCHEMA_REGISTRY_API_KEY",
        "SCHEMA_REGISTRY_API_SECRET",
        "NUM_PAYMENTS",
        "NUM_WORKERS",
        "NUM_SOURCES",
        "NUM_DESTINATIONS",
        "UPDATE_BANKS_INTERVAL",
    ):
        assert original in names


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "NUM_PAYMENTS=5\nNUM_WORKERS=7\nKAFKA_BOOTSTRAP_SERVERS=from-dotenv:9092\nDELAY_CANCELLED=11\nDELAY_FAILED=12\n"
    )
    settings = load_env(
        tmp_path, {"NUM_WORKERS": "9", "KAFKA_BOOTSTRAP_SERVER": "from-env:9092", "DELAY_CANCELED": "13"}
    )
    assert settings.run.payments == 5  # only in .env
    assert settings.run.workers == 9  # environment wins
    assert settings.kafka.bootstrap_servers == "from-env:9092"  # across spellings too
    assert settings.statuses["Canceled"].delay_ms == 13
    assert settings.statuses["Failed"].delay_ms == 12


def test_explicit_env_file(tmp_path: Path) -> None:
    (tmp_path / "prod.env").write_text("NUM_PAYMENTS=31\n")
    (tmp_path / ".env").write_text("NUM_PAYMENTS=32\n")
    assert load_env(tmp_path, {}, env_file="prod.env").run.payments == 31
    with pytest.raises(ConfigError, match=r"^--env-file: 'nope.env' is not a readable file$"):
        load_env(tmp_path, {}, env_file="nope.env")


LAYERS = ["toml", "dotenv", "environment", "flag"]


@pytest.mark.parametrize("top", range(len(LAYERS) + 1))
def test_precedence_defaults_toml_dotenv_environment_flags(tmp_path: Path, top: int) -> None:
    """Layers 0..top-1 are present; the highest present one wins, for a scalar and a delay."""
    present = LAYERS[:top]
    env: dict[str, str] = {}
    flags: dict[str, Any] = {}
    if "toml" in present:
        (tmp_path / "config.toml").write_text("[run]\nworkers = 11\n[statuses]\nFailed = { delay_ms = 11 }\n")
    if "dotenv" in present:
        (tmp_path / ".env").write_text("NUM_WORKERS=22\nDELAY_FAILED=22\n")
    if "environment" in present:
        env = {"NUM_WORKERS": "33", "DELAY_FAILED": "33"}
    if "flag" in present:
        flags = {"run.workers": "44"}
    settings = config.load(env=env, flags=flags, cwd=tmp_path)
    expected_workers = {0: 100, 1: 11, 2: 22, 3: 33, 4: 44}[top]
    expected_delay = {0: 1000, 1: 11, 2: 22, 3: 33, 4: 33}[top]  # delays have no flag
    assert settings.run.workers == expected_workers
    assert settings.statuses["Failed"].delay_ms == expected_delay


def test_config_path_from_flag_and_environment(tmp_path: Path) -> None:
    (tmp_path / "other.toml").write_text("[run]\npayments = 77\n")
    (tmp_path / "config.toml").write_text("[run]\npayments = 66\n")
    assert config.load(env={}, cwd=tmp_path).run.payments == 66
    assert config.load(env={}, cwd=tmp_path, config_path="other.toml").run.payments == 77
    assert config.load(env={"SYNTHPAY_CONFIG": "other.toml"}, cwd=tmp_path).run.payments == 77
    assert config.load(env={}, cwd=tmp_path, config_path="other.toml").source == str(tmp_path / "other.toml")


def test_shipped_config_toml_is_exactly_the_defaults(tmp_path: Path) -> None:
    shipped = config.load(env={}, cwd=tmp_path, config_path=str(REPO_DIR / "config.toml"))
    defaults = defaults_only()
    assert shipped.source.endswith("config.toml") and defaults.source == ""
    assert dataclasses.fields(Settings)
    for f in dataclasses.fields(Settings):
        if f.name == "source":
            continue
        assert getattr(shipped, f.name) == getattr(defaults, f.name), f.name
    # Statuses in the same order (the tables print in this order), workflows too.
    assert list(shipped.statuses) == list(defaults.statuses)
    assert shipped.workflows == defaults.workflows


def test_defaults_are_the_original_code_defaults() -> None:
    s = defaults_only()
    assert (s.run.payments, s.run.workers, s.entities.sources, s.entities.destinations) == (100_000, 100, 10, 10)
    assert s.entities.bank_update_interval_ms == 3000
    assert {n: st.delay_ms for n, st in s.statuses.items()} == {
        "Initiated": 100,
        "Validated": 1000,
        "Accounted": 1000,
        "Completed": 3000,
        "Failed": 1000,
        "Rejected": 2000,
        "Canceled": 2000,
    }
    assert {n: st.partitions for n, st in s.statuses.items()} == {
        "Initiated": 12,
        "Validated": 12,
        "Accounted": 12,
        "Completed": 12,
        "Failed": 4,
        "Rejected": 4,
        "Canceled": 4,
    }
    assert [wf.weight for wf in s.workflows] == [1, 2, 1, 1, 1, 9, 2, 1]
    assert s.schema_registry.url == "http://localhost:8081"
    assert s.run.clock == "real" and s.run.sink == "file" and s.timing == "sequential"


def test_defaults_only_overrides_and_start(tmp_path: Path) -> None:
    s = defaults_only({"run.start": "2026-01-31T09:00:00Z", "run.payments": 3, "run.seed": "5"})
    assert (s.run.start_ms, s.run.payments, s.run.seed) == (START_MS, 3, 5)
    # A start without a zone is UTC; other zones are converted.
    assert defaults_only({"run.start": "2026-01-31T09:00:00"}).run.start_ms == START_MS
    assert defaults_only({"run.start": "2026-01-31T10:00:00+01:00"}).run.start_ms == START_MS


def test_toml_values(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        """
timing = "parallel"
[run]
start = 2026-01-31T09:00:00Z
seed = "42"
[kafka.config]
"linger.ms" = 50
"enable.idempotence" = true
"sasl.password" = "hush"
"""
    )
    s = config.load(env={}, cwd=tmp_path)
    assert s.timing == "parallel" and s.run.start_ms == START_MS and s.run.seed == 42
    assert dict(s.kafka.config) == {"linger.ms": "50", "enable.idempotence": "true", "sasl.password": "hush"}
    described = config.describe(s)
    kafka = described["kafka"]
    assert isinstance(kafka, dict) and isinstance(kafka["config"], dict)
    assert kafka["config"]["sasl.password"] == "***"
    assert "hush" not in repr(described)


def test_secrets_never_printed(tmp_path: Path) -> None:
    s = load_env(tmp_path, {"KAFKA_SASL_PASSWORD": "pa55word", "SCHEMA_REGISTRY_API_SECRET": "sr-secret"})
    assert s.kafka.sasl_password.value == "pa55word"
    for text in (repr(s), str(s), repr(s.kafka), str(s.kafka.sasl_password), repr(config.describe(s))):
        assert "pa55word" not in text and "sr-secret" not in text
    kafka, registry = config.describe(s)["kafka"], config.describe(s)["schema_registry"]
    default_kafka = config.describe(defaults_only())["kafka"]
    assert isinstance(kafka, dict) and isinstance(registry, dict) and isinstance(default_kafka, dict)
    assert kafka["sasl_password"] == "***"
    assert registry["api_secret"] == "***"
    assert default_kafka["sasl_password"] == ""


# (environment, message) of values the loader rejects, checked in-process (the CLI tests
# check the same through `synthpay validate` and `synthpay run`).
@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"NUM_PAYMENTS": "lots"},
            "NUM_PAYMENTS = 'lots' (environment): expected a whole number from 0 to 1_000_000_000_000",
        ),
        ({"NUM_WORKERS": "0"}, "NUM_WORKERS = '0' (environment): expected a whole number from 1 to 1_000_000"),
        ({"NUM_SOURCES": "1.5"}, "NUM_SOURCES = '1.5' (environment): expected a whole number from 1 to 100_000"),
        (
            {"UPDATE_BANKS_INTERVAL": "-1"},
            "UPDATE_BANKS_INTERVAL = '-1' (environment): expected a whole number from 0 to 86_400_000",
        ),
        (
            {"DELAY_CANCELLED": "soon"},
            "DELAY_CANCELLED = 'soon' (environment): expected a whole number from 0 to 86_400_000",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "TLS"},
            "KAFKA_SECURITY_PROTOCOL = 'TLS' (environment): expected one of "
            "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL (or empty for automatic)",
        ),
        (
            {"SYNTHPAY_RUN_SUMMARY_INTERVAL_S": "0"},
            "SYNTHPAY_RUN_SUMMARY_INTERVAL_S = '0' (environment): expected a number from 0.1 to 86_400",
        ),
        (
            {"SYNTHPAY_RUN_SHUTDOWN_GRACE_S": "nan"},
            "SYNTHPAY_RUN_SHUTDOWN_GRACE_S = 'nan' (environment): expected a number from 0 to 3_600",
        ),
    ],
)
def test_bad_environment_values(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_env(tmp_path, env)
    assert str(info.value) == message


def test_a_dotenv_line_that_does_not_parse_is_an_error_naming_the_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# the original's .env\nNUM_PAYMENTS=5\nKAFKA_SASL_PASSWORD hunter2\n")
    with pytest.raises(ConfigError) as info:
        config.load(env={}, cwd=tmp_path)
    assert str(info.value) == ".env line 3: cannot parse it; expected NAME=value, a comment or an empty line"


def test_a_dotenv_name_without_a_value_is_an_error_naming_the_line(tmp_path: Path) -> None:
    """A bare line may be a secret pasted without its name: refused, and never quoted back."""
    (tmp_path / ".env").write_text("NUM_PAYMENTS=5\n\nhunter2\n")
    with pytest.raises(ConfigError) as info:
        config.load(env={}, cwd=tmp_path)
    assert str(info.value) == (
        ".env line 3: a name without '=' sets nothing; expected NAME=value, a comment or an empty line"
    )


def test_toml_nested_too_deep_names_the_key_path(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[run]\nx = " + "[" * 40 + "]" * 40 + "\n")
    with pytest.raises(ConfigError) as info:
        config.load(env={}, cwd=tmp_path)
    path = "run.x" + "[0]" * 30
    assert str(info.value) == (
        f"config.toml: {path[:80]}... (32 levels down): tables or arrays nested more than 32 deep; "
        "expected a synthpay configuration"
    )


def test_a_delay_for_a_status_added_in_the_config_file_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[statuses]\nSettled = { delay_ms = 10 }\n\n[[workflows]]\nsteps = ["Initiated", "Settled"]\n'
    )
    settings = config.load(env={"DELAY_SETTLED": "250"}, cwd=tmp_path)
    assert settings.statuses["Settled"].delay_ms == 250


@pytest.mark.parametrize(
    "table",
    [
        "plugins = 3",
        '[kafka.config]\n"linger.ms" = [1]',
        "[anomalies]\nlate_delay = 4",
        "[anomalies]\nduplicate_delay = 4",
    ],
)
def test_a_rule_broken_is_reported_before_a_bad_table_no_rule_reads(tmp_path: Path, table: str) -> None:
    (tmp_path / "config.toml").write_text(f"{table}\n[run]\ninstance_index = 3\ninstance_count = 2\n")
    with pytest.raises(ConfigError) as refused:
        config.load(env={}, cwd=tmp_path)
    assert str(refused.value) == (
        "run.instance_index = 3 (config.toml): expected a whole number below run.instance_count (2)"
    )
