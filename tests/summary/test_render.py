"""The closing tables: per-phase delays, and no "None" where nothing was realized."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import run_engine, settings_for

from synthpay.model.delays import fixed
from synthpay.model.reports import DelayReport
from synthpay.model.timeline import Phase
from synthpay.summary.document import Summary
from synthpay.summary.render import render, render_scenario


@pytest.fixture(scope="module")
def phased(tmp_path_factory: pytest.TempPathFactory) -> Summary:
    """A run whose one phase scales Validated's delays fivefold."""
    tmp = tmp_path_factory.mktemp("run")
    slow = Phase("slow", at_s=0, duration_s=3600, delay_scale={"Validated": 5.0})
    settings = replace(settings_for(tmp / "out", {"run.payments": 200}), phases=(slow,))
    summary, _, _ = run_engine(tmp, settings=settings)
    return summary


def test_a_phase_that_scales_a_status_has_its_realized_delays_in_a_table(phased: Summary) -> None:
    validated = phased.phases[1].delays["Validated"]
    tables = render_scenario(phased)
    assert len(tables) == 3  # phases, delays per status, delays per phase
    header, row, note = tables[2].splitlines()
    assert header.split()[:3] == ["PHASE", "STATUS", "DELAY"]
    assert row.split()[:2] == ["slow", "Validated"]
    assert f" {validated.p50_ms} (" in row and f" {validated.p99_ms} (" in row
    assert "scaled" in note


def test_a_run_without_scaled_delays_has_no_per_phase_delay_table(phased: Summary) -> None:
    unscaled = replace(phased, phases=tuple(replace(row, delays={}) for row in phased.phases))
    assert len(render_scenario(unscaled)) == 2


def test_a_status_no_payment_reached_shows_a_dash_not_none(phased: Summary) -> None:
    unused = DelayReport(fixed(2000), 2000.0, 2000.0, count=0, p50_ms=None, p99_ms=None)
    text = render(replace(phased, delays={**phased.delays, "Rejected": unused}))
    assert "None" not in text
    row = next(line for line in text.splitlines() if line.startswith("Rejected "))
    assert re.search(r" - \( *2000\.0\) +- \( *2000\.0\)$", row), row


def test_the_tables_of_a_default_run_are_unchanged(tmp_path: Path) -> None:
    summary, _, _ = run_engine(tmp_path, {"run.payments": 20})
    assert render_scenario(summary) == []
