"""The one workflow classifier: which configured workflow a payment's seen statuses are."""

from __future__ import annotations

from synthpay.model.delays import fixed
from synthpay.verify import scenario as scenario_checks
from synthpay.verify.scenario import PhasePlan, ScenarioPlan, ScenarioTally
from synthpay.verify.workflows import Match, classify

# Status indices: 0 Initiated, 1 Validated, 2 Completed, 3 Failed.
LONG, SHORT, OTHER = (0, 1, 2), (0, 1), (0, 3)


def always(index: int) -> bool:
    return True


def test_statuses_of_no_workflows_start_match_none() -> None:
    assert classify([LONG, OTHER], {1: 10, 3: 20}, always) is None


def test_the_start_of_a_workflow_is_that_workflow_cut_short() -> None:
    assert classify([OTHER, LONG], {0: 10, 1: 20}, always) == Match(1, complete=False, fits=True)


def test_a_whole_workflow_beats_the_start_of_a_longer_one_listed_first() -> None:
    assert classify([LONG, SHORT], {0: 10, 1: 20}, always) == Match(1, complete=True, fits=True)


def test_a_workflow_the_timestamps_fit_beats_an_earlier_one_they_do_not() -> None:
    assert classify([SHORT, LONG], {0: 10, 1: 20}, lambda index: index == 1) == Match(1, complete=False, fits=True)


def test_when_no_match_fits_the_first_is_named() -> None:
    assert classify([LONG, SHORT], {0: 10, 1: 20}, lambda index: False) == Match(0, complete=False, fits=False)


def test_the_scenario_checks_count_a_whole_short_workflow_as_complete() -> None:
    plan = ScenarioPlan(
        sequential=True,
        workflows=(LONG, SHORT),
        names=("long", "short"),
        phases=(PhasePlan("", (1, 1), tuple(tuple(fixed(100) for _ in range(4)) for _ in range(2)), None),),
    )
    tally = ScenarioTally.empty()
    assert scenario_checks.classify(plan, tally, "p1", 0, {0: 100, 1: 200}) == "complete"
    assert tally.mix[0] == {1: 1}
