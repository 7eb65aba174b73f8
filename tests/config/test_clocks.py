"""The clock profiles: one per clock, and the settings that are "by clock" follow it."""

from __future__ import annotations

from typing import get_args

import pytest
from conftest import settings_for

from synthpay.config.clocks import PROFILES, profile
from synthpay.config.settings import Clock


def test_every_clock_has_a_profile() -> None:
    assert set(PROFILES) == set(get_args(Clock))


@pytest.mark.parametrize("clock", get_args(Clock))
def test_batch_size_zero_is_the_clocks(clock: Clock) -> None:
    settings = settings_for(overrides={"run.clock": clock, "engine.batch_size": 0})
    assert settings.engine.batch_size == profile(clock).batch_size


def test_only_the_virtual_clock_has_a_mock_clock() -> None:
    assert all((p.autojump_s is not None) == p.virtual for p in PROFILES.values())
