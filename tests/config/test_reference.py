"""The declarations are the one source: the settings reference page, config.toml and --help agree with them."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from conftest import REPO_DIR, defaults_only

from synthpay import cli, config
from synthpay.config import reference
from synthpay.config.settings import Declaration, declarations, structured_keys

_DECLARED_KEYS = {d.key for d in declarations()}  # a declared setting may be a table (amounts.currencies)


def _flattened(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in table.items():
        key = prefix + name
        if isinstance(value, dict) and key not in structured_keys() and key not in _DECLARED_KEYS:
            flat.update(_flattened(value, key + "."))
        else:
            flat[key] = value
    return flat


def test_the_reference_page_settings_table_is_the_rendered_one() -> None:
    page = (REPO_DIR / reference.PAGE).read_text()
    assert reference.rewritten(page) == page, f"run: python -m synthpay.config.reference {reference.PAGE}"


def test_the_shipped_config_toml_lists_every_setting_at_its_declared_default() -> None:
    shipped = _flattened(tomllib.loads((REPO_DIR / "config.toml").read_text()))
    declared = {d.key: d.default for d in declarations()}
    assert {k: v for k, v in shipped.items() if k not in structured_keys()} == declared
    assert set(structured_keys()) <= set(shipped)


def test_every_declared_default_is_accepted_by_its_own_parser() -> None:
    for d in declarations():
        d.parse(d.default, False)
    defaults_only()


@pytest.mark.parametrize("declared", declarations(), ids=lambda d: d.key)
def test_a_value_of_a_type_no_setting_takes_is_refused_with_the_declared_accepted_text(declared: Declaration) -> None:
    # The reference page's table shows .accepted and the loader's error line what the parser raises: they must agree.
    assert declared.parse.accepted
    with pytest.raises(ValueError, match=r"\S") as refused:
        declared.parse(object(), False)
    assert str(refused.value) == declared.parse.accepted


def test_run_help_shows_every_flag_with_its_declared_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert any(d.flag for d in declarations())
    for d in declarations():
        if d.flag:
            assert d.flag in shown
            assert " ".join(d.help.split()) in shown, d.key


def test_every_environment_name_belongs_to_one_setting() -> None:
    names = [n for d in declarations() for n in d.env]
    assert len(names) == len(set(names))
    assert set(config.env_names()) == {d.key for d in declarations()}


def test_flags_are_unique_and_long() -> None:
    flags = [d.flag for d in declarations() if d.flag]
    assert len(flags) == len(set(flags)) and all(f.startswith("--") for f in flags)
