"""[amounts]: an amount distribution and a currency mix, from TOML, the environment and flags; one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import refused_in_one_line
from hypothesis import assume, given
from hypothesis import strategies as st

from synthpay import config
from synthpay.config import amount_parsers
from synthpay.config.errors import ConfigError
from synthpay.config.settings import Settings
from synthpay.model import delays
from synthpay.model.amounts import CurrencyMix
from synthpay.model.delays import Delay


def _load(tmp_path: Path, toml: str, env: dict[str, str] | None = None) -> Settings:
    (tmp_path / "synthpay.toml").write_text(toml)
    return config.load(config_path=str(tmp_path / "synthpay.toml"), env=env or {}, cwd=tmp_path)


def test_by_default_neither_is_set(tmp_path: Path) -> None:
    amounts = _load(tmp_path, "").amounts
    assert amounts.distribution is None
    assert amounts.currencies == CurrencyMix()


@pytest.mark.parametrize(
    ("spelled", "expected"),
    [
        ('{ dist = "fixed", value = 12.5 }', Delay("fixed", (12.5,))),
        ('{ dist = "uniform", min = 1, max = 500 }', Delay("uniform", (1.0, 500.0))),
        ('{ dist = "exponential", mean = 80 }', Delay("exponential", (80.0,))),
        ('{ dist = "lognormal", median = 42.5, p99 = 2400 }', Delay("lognormal", (42.5, 2400.0))),
        ('{ dist = "normal", mean = 100, stddev = 30 }', Delay("normal", (100.0, 30.0))),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_each_family_reads_from_toml(tmp_path: Path, spelled: str, expected: Delay) -> None:
    assert _load(tmp_path, f"[amounts]\ndistribution = {spelled}\n").amounts.distribution == expected


def test_a_currency_mix_keeps_its_order_and_weights(tmp_path: Path) -> None:
    mix = _load(tmp_path, "[amounts]\ncurrencies = { EUR = 60, USD = 30, GBP = 10.5 }\n").amounts.currencies
    assert mix.weights == (("EUR", 60.0), ("USD", 30.0), ("GBP", 10.5))
    assert mix.share("GBP") == pytest.approx(10.5 / 100.5)


@pytest.mark.parametrize(
    "text",
    [
        "lognormal median=42.5 p99=2400",
        "dist=lognormal,median=42.5,p99=2400",
        '{ dist = "lognormal", median = 42.5, p99 = 2400 }',
    ],
)
def test_the_environment_gives_a_distribution_as_pairs_or_an_inline_table(tmp_path: Path, text: str) -> None:
    settings = _load(tmp_path, "", {"SYNTHPAY_AMOUNTS_DISTRIBUTION": text})
    assert settings.amounts.distribution == Delay("lognormal", (42.5, 2400.0))


def test_a_flag_gives_a_currency_mix_as_pairs(tmp_path: Path) -> None:
    settings = config.load(env={}, flags={"amounts.currencies": "EUR=3, JPY=1"}, read_files=False)
    assert settings.amounts.currencies == CurrencyMix((("EUR", 3.0), ("JPY", 1.0)))


def test_validate_writes_both_back_as_toml_tables(tmp_path: Path) -> None:
    settings = _load(
        tmp_path, '[amounts]\ndistribution = { dist = "uniform", min = 1, max = 2.5 }\ncurrencies = { CHF = 1 }\n'
    )
    assert config.describe(settings)["amounts"] == {
        "distribution": {"dist": "uniform", "min": 1, "max": 2.5},
        "currencies": {"CHF": 1},
    }


@pytest.mark.parametrize(
    "toml",
    [
        'distribution = { dist = "lognormal", median = 50, p99 = 10 }',  # p99 below the median
        'distribution = { dist = "lognormal", median_ms = 50, p99_ms = 100 }',  # a delay's spelling
        'distribution = { dist = "gamma", shape = 2 }',
        'distribution = { dist = "uniform", min = 5, max = 1 }',
        'distribution = { dist = "exponential", mean = -1 }',
        'distribution = { dist = "normal", mean = 10, stddev = 0 }',
        'distribution = { dist = "fixed", value = "10" }',
        'distribution = { dist = "fixed", value = 1e12 }',
        "distribution = 42",
        "currencies = { eur = 1 }",
        "currencies = { EURO = 1 }",
        "currencies = { EUR = -1 }",
        "currencies = { EUR = 0, USD = 0 }",
        'currencies = { EUR = "many" }',
        'currencies = ["EUR"]',
    ],
)
def test_a_bad_value_is_one_line_naming_the_setting_and_file(tmp_path: Path, toml: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, f"[amounts]\n{toml}\n")
    message = str(refused.value)
    key = toml.split()[0]
    assert "\n" not in message
    assert message.startswith(f"amounts.{key} = ") and "(synthpay.toml): expected " in message


def test_run_refuses_an_unknown_currency_code_with_one_line_and_exit_2(tmp_path: Path) -> None:
    line = refused_in_one_line(["validate", "--currencies", "EUR=1,usd=2"], tmp_path)
    assert "--currencies = 'EUR=1,usd=2' (command line)" in line and "3 capital letters" in line


@given(
    dist=st.sampled_from(sorted(delays.PLAIN_PARAMETERS)),
    a=st.floats(0.001, 1e8),
    b=st.floats(0.001, 1e8),
    weights=st.dictionaries(st.from_regex(r"[A-Z]{3}", fullmatch=True), st.floats(0, 1e9), min_size=1, max_size=5),
)
def test_what_validate_writes_reads_back_to_the_same_settings(
    dist: str, a: float, b: float, weights: dict[str, float]
) -> None:
    low, high = sorted((a, b))
    params = {"fixed": (a,), "uniform": (low, high), "exponential": (a,), "lognormal": (low, high), "normal": (a, b)}
    names = delays.PLAIN_PARAMETERS[dist]
    assume(not delays.check(dist, dict(zip(names, params[dist], strict=True)), delays.PLAIN_PARAMETERS))
    assume(sum(weights.values()) > 0)
    distribution = Delay(dist, params[dist])
    mix = CurrencyMix(tuple(weights.items()))
    assert amount_parsers.distribution(amount_parsers.distribution.write(distribution), False) == distribution
    assert amount_parsers.currencies(amount_parsers.currencies.write(mix), False) == mix
