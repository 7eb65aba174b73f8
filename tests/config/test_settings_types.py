"""A setting's type is its parser's: ``choice`` takes a Literal's values, ``secret`` yields a Secret, mypy checks both."""

from __future__ import annotations

import textwrap
import types
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Union, get_args, get_origin, get_type_hints

import mypy.api
import pytest
from conftest import REPO_DIR

from synthpay import config
from synthpay.config import parsers
from synthpay.config.settings import (
    Arrivals,
    Clock,
    Codec,
    Declaration,
    LogFormat,
    LogLevel,
    Mode,
    Popularity,
    SaslMechanism,
    Secret,
    Settings,
    declarations,
    sections,
)
from synthpay.model.workflow import Timing

if TYPE_CHECKING:
    from typing_extensions import TypeForm

LITERALS: list[TypeForm[str]] = [Clock, Mode, Arrivals, LogLevel, LogFormat, Codec, SaslMechanism, Popularity, Timing]


def _field_type(d: Declaration) -> object:
    table, _, _ = d.key.rpartition(".")
    hints: dict[str, object] = get_type_hints(sections()[table] if table else Settings)
    return hints[d.attr]


def _conforms(value: object, kind: object) -> bool:
    """Whether ``value`` is of the annotated type ``kind`` (the kinds settings are declared with)."""
    origin, args = get_origin(kind), get_args(kind)
    if origin is Literal:
        return value in args
    if origin in (Union, types.UnionType):
        return any(_conforms(value, arg) for arg in args)
    if origin is tuple:
        return isinstance(value, tuple) and all(_conforms(item, args[0]) for item in value)
    if kind is float:
        return isinstance(value, float)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(kind, type) and isinstance(value, kind)


@pytest.mark.parametrize("kind", LITERALS, ids=lambda kind: "_".join(get_args(kind)))
def test_choice_accepts_exactly_the_literal_values(kind: TypeForm[str]) -> None:
    parse = parsers.choice(kind)
    assert [parse(value, True) for value in get_args(kind)] == list(get_args(kind))
    with pytest.raises(ValueError, match=r"^one of "):
        parse("not-" + get_args(kind)[0], True)


@pytest.mark.parametrize("kind", LITERALS, ids=lambda kind: "_".join(get_args(kind)))
def test_choice_accepted_text_lists_the_literal_values_in_order(kind: TypeForm[str]) -> None:
    parse = parsers.choice(kind)
    assert parse.accepted == "one of " + ", ".join(repr(value) for value in get_args(kind))


def test_choice_reads_any_case_and_returns_the_literal_spelling() -> None:
    assert parsers.choice(SaslMechanism, upper=True)(" scram-sha-256 ", True) == "SCRAM-SHA-256"


def test_choice_upper_lists_the_values_unquoted() -> None:
    assert parsers.choice(SaslMechanism, upper=True).accepted == (
        "one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, GSSAPI, OAUTHBEARER"
    )


def test_secret_parser_yields_a_secret_of_the_stripped_text() -> None:
    assert parsers.secret(" hunter2\n", True) == Secret("hunter2")


def test_secret_parser_refuses_what_text_refuses_with_the_same_words() -> None:
    with pytest.raises(ValueError, match=r"^a string$"):
        parsers.secret(42, False)


def test_only_the_secret_settings_are_masked() -> None:
    masked = {d.key for d in declarations() if d.secret}
    assert masked == {"kafka.sasl_password", "schema_registry.api_secret"}


@pytest.mark.parametrize("declared", declarations(), ids=lambda d: d.key)
def test_a_parsed_default_is_of_its_fields_type(declared: Declaration) -> None:
    kind = _field_type(declared)
    assert _conforms(declared.parse(declared.default, False), kind), kind


@pytest.mark.parametrize("declared", declarations(), ids=lambda d: d.key)
def test_a_loaded_setting_is_of_its_fields_type(declared: Declaration) -> None:
    settings = config.load(env={}, read_files=False)
    table, _, _ = declared.key.rpartition(".")
    owner = getattr(settings, table) if table else settings
    assert _conforms(getattr(owner, declared.attr), _field_type(declared))


def test_mypy_refuses_a_field_fed_a_parser_of_another_type(tmp_path: Path) -> None:
    module = tmp_path / "mismatched.py"
    module.write_text(
        textwrap.dedent(
            """
            from dataclasses import dataclass

            from synthpay.config import parsers
            from synthpay.config.settings import Clock, LogLevel, Secret, setting


            @dataclass(frozen=True)
            class Mismatched:
                level: LogLevel = setting("real", parsers.choice(Clock), "a Clock parser for a LogLevel")
                password: Secret = setting("", parsers.text, "a str parser for a Secret")
                clock: Clock = setting("real", parsers.text, "a str parser for a Clock")
                matched: Clock = setting("real", parsers.choice(Clock), "the one that agrees")
            """
        )
    )
    config_file = str(REPO_DIR / "pyproject.toml")
    out, _, _ = mypy.api.run(["--config-file", config_file, "--cache-dir", str(tmp_path / "cache"), str(module)])
    flagged = {int(line.split(":")[1]) for line in out.splitlines() if ": error:" in line}
    mismatched = {n for n, line in enumerate(module.read_text().splitlines(), 1) if "parser for a" in line}
    assert flagged == mismatched and len(mismatched) == 3, out
