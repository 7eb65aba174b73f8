"""Error lines quote a value as a readable prefix and its length, never megabytes of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthpay import config
from synthpay.config.errors import ConfigError, quoted


def test_a_megabyte_dotenv_value_is_quoted_by_a_prefix_and_its_length(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("NUM_PAYMENTS=" + "7" * 1_000_000 + "\n")
    with pytest.raises(ConfigError) as info:
        config.load(env={}, cwd=tmp_path)
    assert str(info.value) == (
        f"NUM_PAYMENTS = '{'7' * 40}'... (1_000_000 characters) (.env): expected a whole number from 0 to "
        "1_000_000_000_000"
    )


def test_a_long_unknown_key_is_quoted_by_a_prefix_and_its_length(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(f"[run]\n{'k' * 100_000} = 1\n")
    with pytest.raises(ConfigError) as info:
        config.load(env={}, cwd=tmp_path)
    assert str(info.value).startswith(f"config.toml: unknown setting '{'run.' + 'k' * 36}'... (100_004 characters); ")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("short", "'short'"),
        ("x" * 78, repr("x" * 78)),  # 80 characters with its quotes: whole
        ("x" * 79, f"'{'x' * 40}'... (79 characters)"),
        ([1.0] * 30, "[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,... (150 characters as written here)"),
    ],
)
def test_quoted_keeps_short_values_whole_and_cuts_long_ones(value: object, shown: str) -> None:
    assert quoted(value) == shown
