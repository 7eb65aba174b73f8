"""Which configured workflow a payment is, from the statuses seen of it: the one classifier.

Both the exact checks (fixed delays, every offset known) and the scenario checks (phases
or drawn delays) ask it; each says what "its timestamps fit" means for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Match:
    """The configured workflow a payment's statuses are (all of it, or its start)."""

    workflow: int  # its index in the plan
    complete: bool  # every status of it seen; else the payment was cut short
    fits: bool  # the timestamps fit it


def classify(workflows: Sequence[Sequence[int]], seen: Mapping[int, int], fits: Callable[[int], bool]) -> Match | None:
    """The workflow whose first ``len(seen)`` statuses are the ones seen, or None when none is.

    ``workflows``: each workflow's status indices, in the order a cut-short payment loses
    them from the end; ``seen``: status index -> ts; ``fits(i)``: whether the timestamps fit
    workflow ``i``. A match that fits beats one that does not; among those that fit, a
    whole workflow beats the start of a longer one; otherwise the first in plan order wins.
    """
    found: Match | None = None
    for index, statuses in enumerate(workflows):
        if set(statuses[: len(seen)]) != set(seen):
            continue
        match = Match(index, len(statuses) == len(seen), fits(index))
        if match.fits and match.complete:
            return match
        if found is None or (match.fits and not found.fits):
            found = match
    return found
