"""Status paths: the workflows they are, and which of them are a workflow with events missing.

A dropped event (the ``missing`` anomaly, or a real system's lost message) leaves a payment
with its workflow's path less a step. Such a path cannot be told from a workflow of its own
by its steps alone, only by how rare it is beside the longer one: :func:`classify` is the one
place that decides it, for ``fit`` (which workflows to write, the missing rate) and
``compare`` (the share of payments with an event missing).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from synthpay.calibrate.profile import Path

#: A one-missing-step variant is at most this frequent, relative to the path it comes from,
#: before the missing rate is known (a missing rate of 1 in 11).
VARIANT_RATIO: Final = 0.1
#: Standard deviations beyond the expected count before a count is more than chance
#: (a variant's count its own workflow; a share of reordered payments, parallel timing).
SIGMAS: Final = 4.0


@dataclass(frozen=True, slots=True)
class Group:
    """The paths one workflow was seen as: the same statuses in varying orders.

    In parallel timing the orders are the workflow's; in sequential timing the others than
    the most frequent are the few an anomaly reordered, counted with it but not measured.
    """

    steps: Path  # the most frequent order
    orders: Mapping[Path, int]

    @property
    def payments(self) -> int:
        return sum(self.orders.values())


@dataclass(frozen=True, slots=True)
class Classified:
    """Groups told apart: workflows, and variants of them with events missing."""

    #: The groups kept as workflows, most payments first, each with the payments its count
    #: holds of variants of the workflows before it (a workflow one step shorter than another).
    kept: tuple[tuple[Group, float], ...]
    variants: Mapping[Path, int]  # the variants' steps (their most frequent order), with their payments
    missing: float  # the missing rate per event after the first
    missing_events: float  # events estimated missing


def grouped(paths: Mapping[Path, int]) -> tuple[Group, ...]:
    """The observed paths as workflows' groups, most payments first (ties by path, for determinism)."""
    keyed: dict[frozenset[str], dict[Path, int]] = {}
    for path, n in paths.items():
        if path:
            keyed.setdefault(frozenset(path), {})[path] = n
    groups = [Group(min(orders, key=lambda p: (-orders[p], p)), orders) for orders in keyed.values()]
    return tuple(sorted(groups, key=lambda g: (-g.payments, g.steps)))


def classify(groups: Sequence[Group]) -> Classified:
    """The groups kept as workflows, the variants, the missing rate and the events missing.

    A missing event turns a payment of workflow Q into a path with a step of Q gone; at rate
    m, each one-step variant of Q is seen about ``r = m / (1 - m)`` times as often as Q
    itself (two steps gone: ``r`` squared). ``r`` is measured on the one-step variants that
    are no workflow of their own (one that is, Initiated>Failed as Initiated>Validated>Failed
    without Validated, cannot tell its payments apart): their payments over their sources'.
    A path no more frequent than its expected variants (plus ``SIGMAS`` standard deviations)
    is a variant; a more frequent one is a workflow whose count holds the variants' share too.
    Kept workflows and ``r`` are found together, starting from ``VARIANT_RATIO``.
    """
    ratio = VARIANT_RATIO
    for _ in range(30):
        kept, variants, expected_in_kept = _classify(groups, ratio)
        measured = _variant_ratio(groups, kept)
        settled = abs(measured - ratio) < 1e-9
        ratio = measured
        if settled:
            break
    kept, variants, expected_in_kept = _classify(groups, ratio)
    if not variants:  # no path is explained by a missing event: none is missing
        kept, expected_in_kept, ratio = list(groups), {}, 0.0
    present = sum(g.payments * (len(g.steps) - 1) for g in groups)
    return Classified(
        tuple((g, expected_in_kept.get(g.steps, 0.0)) for g in kept),
        {g.steps: g.payments for g in variants},
        ratio / (1 + ratio),
        present * ratio,
    )


def missing_payments(paths: Mapping[Path, int]) -> int:
    """Payments on a path that is a workflow with events missing (see :func:`classify`)."""
    return sum(classify(grouped(paths)).variants.values())


def _removed(longer: Path, shorter: Path) -> int:
    """How many steps after the first ``longer`` must lose to become ``shorter`` (-1: it cannot)."""
    if not shorter or longer[0] != shorter[0] or len(shorter) >= len(longer):
        return -1
    it = iter(longer[1:])
    if all(step in it for step in shorter[1:]):  # a subsequence, in order
        return len(longer) - len(shorter)
    return -1


def _as_set(group: Group) -> Path:
    """In parallel timing a variant drops a status whatever the order: compare sorted steps."""
    return (group.steps[0], *sorted(group.steps[1:]))


def _one_step_variants(group: Group) -> list[Path]:
    shape = _as_set(group)
    return [shape[:i] + shape[i + 1 :] for i in range(1, len(shape))]


def _variant_ratio(groups: Sequence[Group], kept: Sequence[Group]) -> float:
    """Payments of one-step variants of ``kept`` that are no workflow, over those of the workflows they come from."""
    seen = {_as_set(g): g.payments for g in groups}
    workflows = {_as_set(g) for g in kept}
    sources: Counter[Path] = Counter()
    for parent in kept:
        for shape in _one_step_variants(parent):
            sources[shape] += parent.payments
    variants = sum(seen.get(shape, 0) for shape in sources if shape not in workflows)
    parents = sum(n for shape, n in sources.items() if shape not in workflows)
    return variants / parents if parents else 0.0


def _classify(groups: Sequence[Group], ratio: float) -> tuple[list[Group], list[Group], dict[Path, float]]:
    """Most frequent first: each group a variant of the workflows kept before it, or a workflow."""
    kept: list[Group] = []
    variants: list[Group] = []
    expected_in_kept: dict[Path, float] = {}
    for group in groups:
        shape = _as_set(group)
        expected = 0.0
        for parent in kept:
            removed = _removed(_as_set(parent), shape)
            if removed > 0:
                expected += parent.payments * ratio**removed
        if kept and expected > 0 and group.payments <= expected + SIGMAS * math.sqrt(expected) + 1:
            variants.append(group)
            continue
        kept.append(group)
        if expected > 0:
            expected_in_kept[group.steps] = min(expected, float(group.payments))
    return kept, variants, expected_in_kept
