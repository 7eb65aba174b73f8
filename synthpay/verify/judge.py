"""The checks over a verification's tally, in the report's order."""

from __future__ import annotations

from collections import Counter

from synthpay.verify import anomalies as anomaly_checks
from synthpay.verify import deleted
from synthpay.verify import scenario as scenario_checks
from synthpay.verify.checks import SHOWN, Check, Offenders
from synthpay.verify.manifest import Manifest
from synthpay.verify.scenario import ScenarioPlan, ScenarioTally
from synthpay.verify.tally import Tally, fill_missing, holds, payment_id, phase_of, seen_statuses
from synthpay.verify.workflows import classify


def judge(manifest: Manifest, tally: Tally, schemas: Check | None = None) -> list[Check]:
    """Every check of the report, in its order, over what reading the run tallied.

    ``schemas``: the line on the records' schemas when they come from elsewhere than the
    schema registry (a file's own header); by default, the registry's ids.
    """
    found = deleted.gone(manifest, tally.consumed, tally.log_start)
    gone = {g.topic: g for g in found}
    wrong = [
        f"{t} consumed {tally.consumed[t]}, delivered {n}"
        + (f", {gone[t].deleted} deleted by the broker" if t in gone and gone[t].deleted else "")
        for t, n in manifest.delivered.items()
        if tally.consumed[t] != n
    ]
    total = sum(tally.consumed.values())
    unfinished = f"; gave up before the end of {', '.join(tally.unfinished[:SHOWN])}" if tally.unfinished else ""
    errors = tally.consumer_errors
    missing_banks = {ref: n for ref, n in tally.references.items() if ref not in tally.banks}
    resolved = [i for i, s in tally.schemas.items() if s is not None]
    missing_arrived = fill_missing(manifest, tally) if manifest.anomalies else []
    labelled = (
        anomaly_checks.checks(
            manifest.anomalies,
            manifest.hot_banks,
            tally.anomalies,
            lambda key, status: holds(tally.payments.get(key, 0), status),
            missing_arrived,
            bool(manifest.ground_truth),
        )
        if manifest.labelled
        else []
    )
    return [
        Check(
            "counts",
            not wrong and not tally.unfinished and not errors.count,
            f"{total} records of this run on {len(manifest.delivered)} topics "
            f"({tally.other_runs} of other runs ignored){unfinished}"
            + (f"; {errors.count} consumer errors" if errors.count else ""),
            tuple(wrong + errors.shown),
        ),
        *([deleted.check(manifest, tally.consumed, found)] if found else []),
        Check(
            "records",
            tally.bad_records.count == 0,
            f"{tally.bad_records.count} records undecodable or inconsistent (key, id, status, topic)",
            tuple(tally.bad_records.shown),
        ),
        *_workflow_checks(manifest, tally),
        Check(
            "duplicates",
            tally.duplicates.count == 0,
            f"{tally.duplicates.count} (id, status) pairs seen more than once",
            tuple(tally.duplicates.shown),
        ),
        Check(
            "banks",
            not missing_banks,
            f"{len(tally.banks)} banks; {sum(missing_banks.values())} references to banks not on "
            f"{manifest.banks_topic}",
            tuple(sorted(missing_banks)[:SHOWN]),
        ),
        schemas
        or Check(
            "schemas",
            not tally.unresolved and bool(resolved),
            f"{len(resolved)} of {len(tally.schemas)} schema ids resolve in the registry",
            tuple(f"{i}: {why}" for i, why in sorted(tally.unresolved.items())),
        ),
        *labelled,
    ]


def _workflow_checks(manifest: Manifest, tally: Tally) -> list[Check]:
    if manifest.scenario is not None:
        return _scenario_checks(manifest, manifest.scenario, tally)
    kinds: dict[str, Offenders] = {k: Offenders() for k in ("complete", "cut", "timing", "workflow")}
    for key, packed in tally.payments.items():
        kind, why = _exact_kind(manifest, packed)
        kinds[kind].add(payment_id(key) if kind in ("complete", "cut") else f"{payment_id(key)} {why}")
    complete, cut, mistimed, broken = (kinds[k].count for k in ("complete", "cut", "timing", "workflow"))
    payments = len(tally.payments)
    workflows_ok = broken == 0 and cut == manifest.payments_cut and payments == manifest.payments_started
    cut_note = (
        f", {cut} cut short by the shutdown (manifest: {manifest.payments_cut})" if cut or manifest.payments_cut else ""
    )
    if cut != manifest.payments_cut:
        kinds["workflow"].shown.extend(kinds["cut"].shown)
    return [
        Check(
            "workflows",
            workflows_ok,
            f"{payments} payments (manifest: {manifest.payments_started}): {complete + mistimed} form a whole workflow"
            f"{cut_note}, {broken} not a configured workflow",
            tuple(kinds["workflow"].shown),
        ),
        Check(
            "order",
            mistimed == 0,
            f"{payments - broken - mistimed} payments with statuses in schedule order at their exact "
            f"offsets, {mistimed} out of order or mistimed",
            tuple(kinds["timing"].shown),
        ),
    ]


def _exact_kind(manifest: Manifest, packed: int) -> tuple[str, str]:
    """('complete', label) | ('cut', label) | ('timing', why) | ('workflow', why) for one payment.

    Without phases or drawn delays every offset is exact: the timestamps fit a workflow
    when they all put the payment's start at the same instant.
    """
    seen = seen_statuses(packed, len(manifest.statuses))
    schedules = manifest.schedules

    def fits(index: int) -> bool:
        sched = schedules[index]
        return len({seen[s] - off for s, off in zip(sched.statuses, sched.offsets) if s in seen}) == 1

    match = classify([sched.statuses for sched in schedules], seen, fits)
    if match is None:
        names = sorted(seen, key=lambda i: seen[i])
        return "workflow", "[" + " ".join(manifest.statuses[i] for i in names) + "] is no configured workflow"
    label = schedules[match.workflow].label
    if not match.fits:
        return "timing", f"timestamps do not follow {label}"
    return ("complete" if match.complete else "cut"), label


def _scenario_checks(manifest: Manifest, plan: ScenarioPlan, tally: Tally) -> list[Check]:
    """The workflow checks of a run with phases or drawn delays (offsets are not exact)."""
    scenario, kinds = ScenarioTally.empty(), Counter[str]()
    count = len(manifest.statuses)
    for key, packed in tally.payments.items():
        seen = seen_statuses(packed, count)
        kinds[scenario_checks.classify(plan, scenario, payment_id(key), phase_of(packed, count), seen)] += 1
    payments = len(tally.payments)
    workflows_ok = (
        not kinds["broken"] and kinds["cut"] == manifest.payments_cut and payments == manifest.payments_started
    )
    return [
        Check(
            "workflows",
            workflows_ok,
            f"{payments} payments (manifest: {manifest.payments_started}): {kinds['complete']} whole, "
            f"{kinds['cut']} cut short (manifest: {manifest.payments_cut}), {kinds['broken']} no configured "
            "workflow in order",
            tuple(scenario.disorder.shown),
        ),
        *scenario_checks.run_checks(plan, scenario, manifest.statuses),
    ]
