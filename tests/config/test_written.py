"""``synthpay validate`` shows every setting under its TOML key, as config.toml would write it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from synthpay import config
from synthpay.config.settings import Settings, declarations, structured_keys

REPO = Path(__file__).resolve().parents[2]
CONFIGS = [None, *sorted(str(p) for p in (REPO / "scenarios").glob("*.toml"))]


def load(
    env: dict[str, str] | None = None, flags: dict[str, object] | None = None, path: str | None = None
) -> Settings:
    return config.load(config_path=path, env=env or {}, flags=flags, read_files=path is not None)


def at(shown: object, key: str) -> object:
    for name in key.split("."):
        assert isinstance(shown, dict)
        shown = shown[name]
    return shown


def keys(shown: Mapping[str, object], prefix: str = "") -> set[str]:
    """The dotted keys of the values in ``shown``, tables of settings opened."""
    found: set[str] = set()
    for name, value in shown.items():
        key = prefix + name
        if key in structured_keys() or key in {d.key for d in declarations()}:  # a table may be one setting
            found.add(key)
        elif isinstance(value, dict):
            found |= keys(value, key + ".")
        else:
            found.add(key)
    return found


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: Path(p).name if p else "defaults")
def test_every_setting_is_shown_under_its_toml_key(path: str | None) -> None:
    shown = config.describe(load(path=path))
    assert keys(shown) == {d.key for d in declarations()} | set(structured_keys())


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: Path(p).name if p else "defaults")
def test_every_setting_shown_reads_back_to_its_value(path: str | None) -> None:
    settings = load(path=path, flags={"run.start": "2026-01-01T00:00:00.250Z"} if path is None else None)
    shown = config.describe(settings)
    checked = [d for d in declarations() if d.key != "kafka.security_protocol" and not d.secret]
    read_back = {d.key: d.parse(at(shown, d.key), False) for d in checked}
    assert read_back == {d.key: value_of(settings, d.key, d.attr) for d in checked}


def value_of(settings: Settings, key: str, attr: str) -> object:
    table, _, _ = key.rpartition(".")
    return getattr(getattr(settings, table) if table else settings, attr)


def test_start_is_an_iso_time() -> None:
    shown = config.describe(load(flags={"run.start": "2026-01-31T10:00:00+01:00"}))
    assert at(shown, "run.start") == "2026-01-31T09:00:00Z"


def test_a_backfill_is_a_duration() -> None:
    assert at(config.describe(load(flags={"run.backfill": "5400"})), "run.backfill") == "1h30m"


@pytest.mark.parametrize(
    ("env", "protocol"),
    [
        ({}, "PLAINTEXT"),
        ({"KAFKA_SASL_USERNAME": "alice"}, "SASL_SSL"),
        ({"KAFKA_SASL_USERNAME": "alice", "KAFKA_SECURITY_PROTOCOL": "sasl_plaintext"}, "SASL_PLAINTEXT"),
    ],
    ids=["no-user", "user", "set"],
)
def test_the_security_protocol_is_the_one_used(env: dict[str, str], protocol: str) -> None:
    assert at(config.describe(load(env)), "kafka.security_protocol") == protocol


def test_a_drawn_delay_is_its_table(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[statuses]\nValidated = { delay = { dist = "lognormal", median_ms = 400, p99_ms = 2500 } }\n')
    statuses = config.describe(load(path=str(path)))["statuses"]
    assert isinstance(statuses, dict)
    assert statuses["Validated"] == {
        "delay": {"dist": "lognormal", "median_ms": 400, "p99_ms": 2500},
        "topic": "payment-validated",
        "partitions": 12,
    }
    assert statuses["Initiated"] == {"delay_ms": 100, "topic": "payment-initiated", "partitions": 12}


def test_an_anomaly_delay_is_its_table() -> None:
    assert at(config.describe(load()), "anomalies.late_delay") == {"dist": "exponential", "mean_ms": 30000}
