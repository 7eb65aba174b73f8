"""Named scenarios: found by name in synthpay's package and installed entry points, layered
above the configuration files and below .env, the environment and the flags."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO_DIR

from synthpay import config
from synthpay.config import scenarios
from synthpay.config.errors import ConfigError

SHIPPED = sorted(p.stem for p in (REPO_DIR / "synthpay" / "scenarios").glob("*.toml"))
START = "2026-01-01T00:00:00Z"


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed distribution (a dist-info on sys.path) whose entry point names a package
    holding ``night-shift.toml`` and its own ``flash-sale.toml``."""
    site = tmp_path / "site"
    package = site / "extra_scenarios"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "night-shift.toml").write_text("# Night shift: a trickle.\n[run]\nrate = 0.5\n")
    (package / "flash-sale.toml").write_text("# Our own flash sale.\n[run]\nrate = 3\n")
    info = site / "extra_scenarios-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: extra-scenarios\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[synthpay.scenarios]\nextra = extra_scenarios\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    yield site
    sys.modules.pop("extra_scenarios", None)


def test_every_shipped_scenario_is_listed_with_its_first_line() -> None:
    found = scenarios.available()
    assert list(found) == SHIPPED
    for name, scenario in found.items():
        first = (REPO_DIR / "synthpay" / "scenarios" / f"{name}.toml").read_text().splitlines()[0]
        assert scenario.description == first.removeprefix("# ") and scenario.provider == "built-in"


def test_a_scenario_of_an_installed_entry_point_is_found_and_says_where_it_comes_from(plugin: Path) -> None:
    found = scenarios.available()["night-shift"]
    assert found.description == "Night shift: a trickle."
    assert found.provider == "entry point 'extra' (extra_scenarios)"


def test_an_entry_points_scenario_replaces_a_built_in_of_the_same_name(plugin: Path, tmp_path: Path) -> None:
    settings = config.load(scenario="flash-sale", env={}, cwd=tmp_path)
    assert settings.run.rate == 3


def test_an_unknown_name_is_one_line_with_the_closest_name_and_every_name() -> None:
    with pytest.raises(ConfigError) as caught:
        scenarios.find("flash-sal", "--scenario")
    assert str(caught.value) == (
        "--scenario = 'flash-sal': no such scenario; did you mean 'flash-sale'? "
        f"expected one of {', '.join(SHIPPED)} (synthpay scenarios)"
    )


def test_the_scenario_goes_over_config_toml(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[run]\nrate = 7\nseed = 5\n[file]\ncodec = "null"\n')
    loaded = config.load_with_origins(scenario="flash-sale", env={}, cwd=tmp_path)
    # flash-sale gives rate and seed; the codec is config.toml's alone.
    assert (loaded.settings.run.rate, loaded.settings.run.seed, loaded.settings.file.codec) == (100, 27, "null")
    assert loaded.origins["run.rate"].startswith("scenario flash-sale (")
    assert loaded.origins["file.codec"] == "config.toml"


def test_the_environment_and_the_flags_go_over_the_scenario(tmp_path: Path) -> None:
    env = {"SYNTHPAY_RUN_RATE": "5", "SYNTHPAY_RUN_SEED": "6"}
    settings = config.load(scenario="flash-sale", env=env, flags={"run.seed": "8"}, cwd=tmp_path)
    assert (settings.run.rate, settings.run.seed) == (5, 8)


def test_the_dotenv_file_goes_over_the_scenario(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SYNTHPAY_RUN_RATE=4\n")
    assert config.load(scenario="flash-sale", env={}, cwd=tmp_path).run.rate == 4


def test_synthpay_scenario_names_one_when_no_flag_does(tmp_path: Path) -> None:
    assert config.load(env={"SYNTHPAY_SCENARIO": "slow-settlement"}, cwd=tmp_path).run.seed == 31
    assert config.load(scenario="flash-sale", env={"SYNTHPAY_SCENARIO": "slow-settlement"}, cwd=tmp_path).run.seed == 27


def test_a_start_flag_wins_over_the_scenarios_backfill(tmp_path: Path) -> None:
    run = config.load(scenario="acquirer-outage", env={}, flags={"run.start": START}, cwd=tmp_path).run
    assert (run.backfill_s, run.start_ms is not None, run.clock) == (0.0, True, "virtual")


def test_the_scenarios_backfill_wins_over_a_start_in_config_toml(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(f'[run]\nstart = "{START}"\n')
    run = config.load(scenario="acquirer-outage", env={}, cwd=tmp_path).run
    assert (run.backfill_s, run.start_ms) == (2700.0, None)


def test_a_start_in_the_environment_wins_over_the_scenarios_backfill(tmp_path: Path) -> None:
    run = config.load(scenario="acquirer-outage", env={"SYNTHPAY_RUN_START": START}, cwd=tmp_path).run
    assert (run.backfill_s, run.start_ms is not None) == (0.0, True)


def test_a_start_in_the_dotenv_file_wins_over_the_scenarios_backfill(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"SYNTHPAY_RUN_START={START}\n")
    run = config.load(scenario="acquirer-outage", env={}, cwd=tmp_path).run
    assert (run.backfill_s, run.start_ms is not None) == (0.0, True)
