"""A misspelt status or SYNTHPAY_ variable is refused with the name it most likely meant."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from synthpay import config
from synthpay.config.errors import ConfigError, _mistakes, did_you_mean
from synthpay.config.settings import NOT_SETTINGS, NOT_SETTINGS_PREFIXES

REPO = Path(__file__).resolve().parents[2]
#: Every SYNTHPAY_ name of a setting.
OWN = sorted({name for names in config.env_names().values() for name in names if name.startswith("SYNTHPAY_")})


def refusal(**sources: object) -> str:
    with pytest.raises(ConfigError) as caught:
        config.load(**sources)  # type: ignore[arg-type]
    return str(caught.value)


def test_a_status_no_workflow_uses_is_refused_with_the_one_meant(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[statuses]\nInitiatd = { delay_ms = 5 }\n")
    assert refusal(env={}, cwd=tmp_path).startswith(
        "statuses.Initiatd (config.toml): no workflow steps through this status; did you mean 'Initiated'? "
    )


def test_a_status_a_workflow_steps_through_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[statuses]\nSettled = { delay_ms = 5 }\n\n[[workflows]]\nsteps = ["Initiated", "Settled"]\nweight = 0\n'
        '\n[[workflows]]\nsteps = ["Initiated", "Completed"]\n'
    )
    assert config.load(env={}, cwd=tmp_path).statuses["Settled"].delay_ms == 5


def test_the_original_statuses_may_go_unused(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[statuses]\nFailed = { delay_ms = 5 }\n\n[[workflows]]\nsteps = ["Initiated", "Completed"]\n'
    )
    settings = config.load(env={"DELAY_CANCELLED": "7"}, cwd=tmp_path)
    assert (settings.statuses["Failed"].delay_ms, settings.statuses["Canceled"].delay_ms) == (5, 7)


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_scenario_uses_its_statuses(path: Path) -> None:
    assert config.load(config_path=str(path), env={}).statuses


def test_a_misspelt_variable_is_refused_with_the_one_meant() -> None:
    assert refusal(env={"SYNTHPAY_RUN_PAYMNETS": "5"}, read_files=False).startswith(
        "'SYNTHPAY_RUN_PAYMNETS' (environment): no such setting; did you mean SYNTHPAY_RUN_PAYMENTS? "
    )


def test_a_misspelt_variable_in_the_env_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SYNTHPAY_RUN_WORKRES=3\nNUM_PAYMENTS=5\n")
    assert refusal(env={}, cwd=tmp_path).startswith("'SYNTHPAY_RUN_WORKRES' (.env): no such setting")


def test_the_value_of_a_misspelt_variable_is_never_shown() -> None:
    assert "hunter2" not in refusal(env={"SYNTHPAY_KAFKA_SASL_PASSWROD": "hunter2"}, read_files=False)


def test_other_names_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("KAFKA_TOPIC_PREFIX=x\nPAYMENTS=5\n")
    assert config.load(env={"SYNTHPAYRUN": "1", "MY_SYNTHPAY_RUN": "1"}, cwd=tmp_path).run.payments == 100_000


@pytest.mark.parametrize("name", [*NOT_SETTINGS, *(prefix + "ANYTHING" for prefix in NOT_SETTINGS_PREFIXES)], ids=str)
def test_the_variables_that_are_no_settings_are_accepted(name: str) -> None:
    # SYNTHPAY_CONFIG names files: empty, it names none.
    assert config.load(env={name: ""}, read_files=False).run.payments == 100_000


def test_the_variables_that_are_no_settings_are_documented() -> None:
    page = (REPO / "docs/reference/configuration.md").read_text()
    assert [name for name in (*NOT_SETTINGS, *NOT_SETTINGS_PREFIXES) if f"`{name}" not in page] == []


@st.composite
def one_mistake(draw: st.DrawFn) -> str:
    """A setting's SYNTHPAY_ name with one letter dropped, added, changed or swapped."""
    name = draw(st.sampled_from(OWN))
    rest = name[len("SYNTHPAY_") :]
    i = draw(st.integers(0, len(rest) - 1))
    letter = draw(st.sampled_from(string.ascii_uppercase + "_"))
    kind = draw(st.sampled_from(["drop", "add", "change", "swap"]))
    if kind == "drop":
        typo = rest[:i] + rest[i + 1 :]
    elif kind == "add":
        typo = rest[:i] + letter + rest[i:]
    elif kind == "change":
        typo = rest[:i] + letter + rest[i + 1 :]
    else:
        typo = rest[:i] + rest[i + 1 : i + 2] + rest[i] + rest[i + 2 :]
    return "SYNTHPAY_" + typo


@given(one_mistake())
def test_one_mistake_in_a_variable_is_refused_and_a_name_as_near_suggested(typo: str) -> None:
    assume(typo not in OWN and typo not in NOT_SETTINGS and not typo.startswith(NOT_SETTINGS_PREFIXES))
    message = refusal(env={typo: "1"}, read_files=False)
    suggested = message.split("did you mean ")[1].split("?")[0]
    assert suggested in OWN and _mistakes(typo, suggested) == 1


@pytest.mark.parametrize(
    ("typo", "known", "meant"),
    [
        ("RUN_IUN_ID", ["RUN_RUN_ID", "RUN_SINK"], "RUN_RUN_ID"),  # difflib alone prefers RUN_SINK
        ("RNU", ["RUN", "RANDOM"], "RUN"),
        ("XYZ", ["RUN"], None),
    ],
)
def test_the_suggestion_is_the_close_name_fewest_mistakes_away(typo: str, known: list[str], meant: str | None) -> None:
    assert did_you_mean(typo, known) == meant
