"""Where a run's event time starts and how far it reaches (engine.span)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import START_MS, defaults_only

from synthpay import config
from synthpay.engine import span
from synthpay.model.span import EventSpan

NOW_MS = START_MS + 30 * 86_400_000


def test_an_explicit_start_is_kept_exactly() -> None:
    settings = defaults_only({"run.clock": "virtual", "run.start": "2026-01-31T09:00:00Z"})
    assert span.start_ms(settings, NOW_MS) == START_MS
    assert not span.hands_over(settings)


def test_a_backfill_starts_its_duration_before_now_and_hands_over() -> None:
    settings = defaults_only({"run.backfill": "7d"})
    assert span.start_ms(settings, NOW_MS) == NOW_MS - 7 * 86_400_000
    assert span.hands_over(settings)
    assert span.planned(settings, NOW_MS - 7 * 86_400_000, NOW_MS) == EventSpan(
        NOW_MS - 7 * 86_400_000, NOW_MS, live_from_ms=NOW_MS
    )


def test_a_batch_backfill_covers_its_whole_span_at_the_default_payment_count() -> None:
    run = defaults_only({"run.backfill": "2h", "run.rate": 50}).run
    assert (run.clock, run.mode, run.duration_s, run.payments) == ("virtual", "batch", 7200.0, 0)


def test_a_payment_count_given_still_caps_a_batch_backfill() -> None:
    run = defaults_only({"run.backfill": "2h", "run.payments": 500}).run
    assert (run.duration_s, run.payments) == (7200.0, 500)


def test_a_continuous_backfill_has_no_duration() -> None:
    run = defaults_only({"run.backfill": "2h", "run.mode": "continuous"}).run
    assert (run.mode, run.duration_s, run.payments) == ("continuous", 0.0, 0)


def test_a_virtual_run_without_start_ends_about_now() -> None:
    # 900 payments at 10/s start within 90 s, or 9 s more at three standard deviations;
    # the longest default workflow takes 5.1 s more.
    settings = defaults_only({"run.clock": "virtual", "run.payments": 900, "run.rate": 10})
    assert span.expected_s(settings) == 104.1
    assert span.start_ms(settings, NOW_MS) == NOW_MS - 104_100
    assert span.hands_over(settings)


def test_a_run_paced_by_its_workers_is_expected_to_last_its_rounds_of_the_longest_workflow() -> None:
    settings = defaults_only({"run.clock": "virtual", "run.payments": 1000, "run.workers": 100})
    assert span.longest_route_ms(settings) == 5100
    assert span.expected_s(settings) == pytest.approx(11 * 5.1)


def test_a_drawn_delay_counts_at_its_p99_in_the_longest_workflow(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[statuses]\nCompleted = { delay = { dist = "lognormal", median_ms = 3000, p99_ms = 9000 } }\n'
    )
    assert span.longest_route_ms(config.load(env={}, cwd=tmp_path)) == 100 + 1000 + 1000 + 9000


def test_a_continuous_virtual_run_without_start_has_nothing_to_backfill() -> None:
    settings = defaults_only({"run.clock": "virtual", "run.mode": "continuous"})
    assert span.start_ms(settings, NOW_MS) == NOW_MS


def test_a_real_clock_run_starts_now_and_is_never_ahead_of_it() -> None:
    settings = defaults_only({"run.payments": 10})
    assert span.start_ms(settings, NOW_MS) == NOW_MS
    assert span.planned(settings, NOW_MS, NOW_MS) == EventSpan(NOW_MS, NOW_MS, live_from_ms=NOW_MS)


def test_an_explicit_start_with_a_duration_reaches_its_end_plus_the_longest_workflow() -> None:
    settings = defaults_only({"run.clock": "virtual", "run.start": "2026-01-31T09:00:00Z", "run.duration_s": 60})
    assert span.planned(settings, START_MS, NOW_MS) == EventSpan(START_MS, START_MS + 65_100)


def test_an_explicit_start_paced_by_workers_has_no_known_end() -> None:
    settings = defaults_only({"run.clock": "virtual", "run.start": "2026-01-31T09:00:00Z"})
    assert span.planned(settings, START_MS, NOW_MS) == EventSpan(START_MS, None)


def test_a_start_in_a_later_layer_overrides_a_backfill_from_the_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[run]\nbackfill = "24h"\n')
    run = config.load(env={}, flags={"run.start": "2026-01-31T09:00:00Z"}, cwd=tmp_path).run
    assert (run.clock, run.start_ms, run.backfill_s) == ("virtual", START_MS, 0.0)


def test_a_real_clock_in_a_later_layer_plays_a_backfill_scenario_live(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[run]\nbackfill = "45m"\nduration_s = 2700\npayments = 0\n')
    run = config.load(env={}, flags={"run.clock": "real"}, cwd=tmp_path).run
    assert (run.clock, run.backfill_s, run.duration_s, run.mode) == ("real", 0.0, 2700.0, "continuous")


def test_a_backfill_in_a_later_layer_overrides_a_start_from_the_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[run]\nclock = "virtual"\nstart = "2026-01-31T09:00:00Z"\n')
    run = config.load(env={"SYNTHPAY_RUN_BACKFILL": "1h"}, flags={}, cwd=tmp_path).run
    assert (run.start_ms, run.backfill_s, run.duration_s) == (None, 3600.0, 3600.0)


def test_a_later_configuration_file_wins_over_a_backfill_in_an_earlier_one(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text('[run]\nclock = "virtual"\nstart = "2026-01-31T09:00:00Z"\n')
    (tmp_path / "scenario.toml").write_text('[run]\nbackfill = "45m"\n')
    run = config.load(env={}, config_path=["mine.toml", "scenario.toml"], cwd=tmp_path).run
    assert (run.start_ms, run.backfill_s) == (None, 2700.0)
