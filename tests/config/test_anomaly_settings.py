"""[anomalies] and [entities] popularity: ranges, delay tables, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthpay import config
from synthpay.config.errors import ConfigError
from synthpay.config.settings import DEFAULT_DUPLICATE_DELAY, DEFAULT_LATE_DELAY, Settings
from synthpay.model.delays import Delay


def _load(tmp_path: Path, toml: str, env: dict[str, str] | None = None) -> Settings:
    (tmp_path / "synthpay.toml").write_text(toml)
    return config.load(config_path=str(tmp_path / "synthpay.toml"), env=env or {}, cwd=tmp_path)


def test_defaults_inject_nothing(tmp_path: Path) -> None:
    settings = _load(tmp_path, "")
    assert not settings.anomalies.enabled
    assert settings.anomalies.late_delay == DEFAULT_LATE_DELAY
    assert settings.anomalies.duplicate_delay == DEFAULT_DUPLICATE_DELAY
    assert settings.entities.popularity == "uniform"


def test_anomaly_table_with_delay_distributions(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        """
[anomalies]
late = 0.01
late_delay = { dist = "lognormal", median_ms = 1000, p99_ms = 60000 }
duplicate = 1
duplicate_delay = { dist = "fixed", ms = 250 }
out_of_order = 0.5
missing = 0.0005
[entities]
popularity = "zipf"
zipf_s = 1.3
""",
    )
    a = settings.anomalies
    assert (a.late, a.duplicate, a.out_of_order, a.missing) == (0.01, 1.0, 0.5, 0.0005)
    assert a.late_delay == Delay("lognormal", (1000.0, 60000.0))
    assert a.duplicate_delay == Delay("fixed", (250.0,))
    assert (settings.entities.popularity, settings.entities.zipf_s) == ("zipf", 1.3)


def test_probability_from_the_environment(tmp_path: Path) -> None:
    assert _load(tmp_path, "", {"SYNTHPAY_ANOMALIES_LATE": "0.25"}).anomalies.late == 0.25


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[anomalies]\nlate = 1.5", r"^anomalies\.late = 1\.5 \(synthpay\.toml\): expected a number from 0 to 1$"),
        ("[anomalies]\nduplicate = -0.1", r"^anomalies\.duplicate = -0\.1 .*expected a number from 0 to 1$"),
        ("[anomalies]\nmissing = nan", r"^anomalies\.missing = nan .*expected a number from 0 to 1$"),
        ('[anomalies]\nout_of_order = "often"', r"^anomalies\.out_of_order = 'often' .*from 0 to 1$"),
        (
            '[anomalies]\nlate_delay = { dist = "exponential", mean_ms = -5 }',
            r"^anomalies\.late_delay\.mean_ms = -5 \(synthpay\.toml\): expected a number from 0 to 86_400_000$",
        ),
        (
            '[anomalies]\nduplicate_delay = { dist = "uniform", min_ms = 9, max_ms = 1 }',
            r"^anomalies\.duplicate_delay\.max_ms = 1 .*expected max_ms >= min_ms$",
        ),
        ("[anomalies]\nlate_delay = 30000", r"^anomalies\.late_delay = 30000 .*expected a table"),
        ('[entities]\npopularity = "pareto"', r"^entities\.popularity = 'pareto' .*'uniform', 'zipf'"),
        ("[entities]\nzipf_s = 0", r"^entities\.zipf_s = 0 .*expected a number above 0 and at most 10$"),
    ],
)
def test_bad_values_are_one_line(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        _load(tmp_path, toml)
    assert "\n" not in str(info.value)


def test_nan_from_the_environment_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^SYNTHPAY_ANOMALIES_LATE = 'nan' \(environment\): expected"):
        _load(tmp_path, "", {"SYNTHPAY_ANOMALIES_LATE": "nan"})
