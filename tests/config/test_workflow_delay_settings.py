"""[[workflows]] delays: a workflow's own delay of some of its statuses; one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import refused_in_one_line

from synthpay import config
from synthpay.config.errors import ConfigError
from synthpay.config.settings import Settings
from synthpay.engine.scenario import needed
from synthpay.model.delays import Delay, fixed

_TWO = """
[[workflows]]
steps = ["Initiated", "Failed"]
weight = 1
{delays}

[[workflows]]
steps = ["Initiated", "Validated", "Accounted", "Failed"]
weight = 2
"""


def _load(tmp_path: Path, delays: str) -> Settings:
    (tmp_path / "synthpay.toml").write_text(_TWO.format(delays=delays))
    return config.load(config_path=str(tmp_path / "synthpay.toml"), env={}, cwd=tmp_path)


def test_a_workflow_without_delays_has_none_of_its_own(tmp_path: Path) -> None:
    settings = _load(tmp_path, "")
    assert [dict(wf.delays) for wf in settings.workflows] == [{}, {}]
    assert not needed(settings.statuses, settings.phases, settings.workflows)


def test_a_workflow_s_own_delays_are_tables_or_ms(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        'delays = { Failed = { dist = "lognormal", median_ms = 300, p99_ms = 900 }, Initiated = 50 }',
    )
    first, second = settings.workflows
    assert dict(first.delays) == {"Failed": Delay("lognormal", (300.0, 900.0)), "Initiated": fixed(50)}
    assert not second.delays
    assert needed(settings.statuses, settings.phases, settings.workflows)


def test_validate_writes_a_workflow_s_own_delays_back(tmp_path: Path) -> None:
    shown = config.describe(_load(tmp_path, 'delays = { Failed = { dist = "exponential", mean_ms = 70 } }'))
    workflows = shown["workflows"]
    assert isinstance(workflows, list)
    assert workflows[0] == {
        "name": "Initiated>Failed",
        "steps": ["Initiated", "Failed"],
        "weight": 1,
        "delays": {"Failed": {"dist": "exponential", "mean_ms": 70}},
    }
    assert isinstance(workflows[1], dict) and "delays" not in workflows[1]


@pytest.mark.parametrize(
    ("delays", "message"),
    [
        (
            "delays = { Accounted = 100 }",
            r"^workflows\[0\]\.delays\.'Accounted' \(synthpay\.toml\): the workflow has no status 'Accounted'; "
            r"expected one of its steps: Initiated, Failed$",
        ),
        ("delays = 100", r"^workflows\[0\]\.delays = 100 \(synthpay\.toml\): expected a table such as "),
        ("delays = { Failed = -1 }", r"^workflows\[0\]\.delays\.Failed = -1 \(synthpay\.toml\): expected a whole "),
        (
            'delays = { Failed = { dist = "lognormal", median_ms = 300, p99_ms = 100 } }',
            r"^workflows\[0\]\.delays\.Failed\.p99_ms = 100 \(synthpay\.toml\): expected p99_ms > median_ms$",
        ),
        ('delays = { Failed = { dist = "gamma" } }', r"^workflows\[0\]\.delays\.Failed\.dist = 'gamma' "),
    ],
)
def test_a_bad_own_delay_is_one_line(tmp_path: Path, delays: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, delays)


def test_validate_exits_2_with_one_line_for_a_status_the_workflow_does_not_have(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(_TWO.format(delays="delays = { Completed = 10 }"))
    line = refused_in_one_line(["validate", "--config", str(tmp_path / "c.toml")], tmp_path)
    assert "the workflow has no status 'Completed'" in line
