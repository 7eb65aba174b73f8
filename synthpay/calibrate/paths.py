"""Status paths: which of them are another, more frequent path with one event missing.

A dropped event (the ``missing`` anomaly, or a real system's lost message) leaves a payment
with its workflow's path less one step. Such a path cannot be told from a workflow of its own
by its steps alone, only by how rare it is beside the longer one: ``fit`` and ``compare`` both
count missing events this way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from synthpay.calibrate.profile import Path

#: A path is taken for a longer one with a step missing only when it holds at most this share
#: of the longer one's payments. Missing events are rare (a few in a hundred at most), while a
#: workflow a step shorter than another is rarely ten times less common than it: the default
#: workflows' one-step-shorter pairs are within a factor of two. A real workflow below this
#: share of a one-step-longer one is counted as missing events.
MISSING_RATIO = 0.1


def one_step_shorter(path: Path) -> Iterator[Path]:
    """``path`` with each one of its steps left out in turn (the same shorter path once)."""
    seen: set[Path] = set()
    for i in range(len(path)):
        shorter = path[:i] + path[i + 1 :]
        if shorter and shorter not in seen:
            seen.add(shorter)
            yield shorter


def missing_variants(paths: Mapping[Path, int], ratio: float = MISSING_RATIO) -> dict[Path, Path]:
    """Each path that is a more frequent path with one step missing, with that path.

    ``P`` is such a variant of ``Q`` when leaving one step out of ``Q`` gives ``P`` and ``P``
    holds at most ``ratio`` times ``Q``'s payments; of several such ``Q``, the most frequent.
    """
    variants: dict[Path, Path] = {}
    for longer, count in paths.items():
        for shorter in one_step_shorter(longer):
            held = paths.get(shorter, 0)
            if 0 < held <= ratio * count and (shorter not in variants or paths[variants[shorter]] < count):
                variants[shorter] = longer
    return variants


def missing_share(paths: Mapping[Path, int], ratio: float = MISSING_RATIO) -> float:
    """The share of payments whose path is a more frequent path with one step missing (0 for none)."""
    total = sum(paths.values())
    if not total:
        return 0.0
    return sum(paths[variant] for variant in missing_variants(paths, ratio)) / total
