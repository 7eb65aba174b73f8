"""The run's plan, from its settings: what verify checks the topics against."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from synthpay.model.reports import HotBanks, PlannedStatus, PlannedWorkflow, RunPlan
from synthpay.model.workflow import schedule

if TYPE_CHECKING:
    from synthpay.config.settings import Settings


def run_plan(settings: Settings) -> RunPlan:
    """What the run was configured to emit, so ``synthpay verify`` needs only the summary.

    ``schedule`` lists each workflow's statuses in emission order with their exact offset
    from the payment's start (the scheduler stamps ``ts`` with the due time, not the wake-up
    time, so offsets are exact under either clock). No secrets: the summary is shared.
    """
    statuses = settings.statuses
    return RunPlan(
        timing=settings.timing,
        banks_topic=settings.entities.banks_topic,
        statuses={s.name: PlannedStatus(s.topic, s.delay_ms) for s in statuses.values()},
        workflows=tuple(
            PlannedWorkflow(
                wf.label,
                wf.steps,
                tuple((step.status.name, step.offset_ms) for step in schedule(wf, statuses, settings.timing)),
            )
            for wf in settings.workflows
        ),
        **_scenario_plan(settings),
        hot_banks=(
            HotBanks(entity.zipf_s, entity.sources, entity.destinations)
            if (entity := settings.entities).popularity == "zipf"
            else None
        ),
        ground_truth_topic=settings.ground_truth_topic,
    )


def _scenario_plan(settings: Settings) -> dict[str, Any]:
    """What verify needs of phases, drawn delays and workflows' own delays; nothing for a run without them."""
    drawn = {s.name: s.delay for s in settings.statuses.values() if s.delay is not None}
    own = any(wf.delays for wf in settings.workflows)
    if not drawn and not settings.phases and not settings.run.arrival_curve and not own:
        return {}
    return {
        "delays": drawn,
        "workflow_names": tuple(wf.name for wf in settings.workflows),
        "workflow_weights": tuple(wf.weight for wf in settings.workflows),
        # Only with a workflow's own delays: the summary of any other run stays as it was.
        **({"workflow_delays": tuple(dict(wf.delays) for wf in settings.workflows)} if own else {}),
        # Plain dicts: the summary is written with asdict, which cannot copy a mapping proxy.
        "phases": tuple(
            replace(
                p,
                weights=dict(p.weights) if p.weights else None,
                delay_scale=dict(p.delay_scale) if p.delay_scale else None,
                anomalies=dict(p.anomalies) if p.anomalies else None,
            )
            for p in settings.phases
        ),
        "arrival_curve": settings.run.arrival_curve,
    }
