"""Why records of the run are missing when the broker deleted them: the log start offset moved past them.

Retention (by record timestamp, and synthpay writes event times as record timestamps)
and delete-records both move a partition's log start offset. The summary of a Kafka run
says which offsets of each partition the run wrote to; the run's records below the log
start offset are gone. Records missing for other reasons (failed deliveries, labelled
``missing`` anomalies) were never delivered, so only delivered records the offsets show
deleted are counted as deleted. Without offsets in the summary (an older summary, another
sink) a log start offset above 0 only makes the missing count consistent with deletion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from synthpay.verify.checks import Check
from synthpay.verify.manifest import Manifest

_FIX = (
    'keep them with a longer retention ([kafka.topic_config] "retention.ms" = "-1") '
    "or write recent event times (--backfill)"
)


@dataclass(frozen=True, slots=True)
class Gone:
    """What the log start offsets say of one topic's missing records."""

    topic: str
    missing: int  # delivered and not read back
    deleted: int  # of those, the ones the offsets show below the log start offset
    why: str  # per partition, the log start offset and the run's offsets it passed


def gone(manifest: Manifest, consumed: Mapping[str, int], log_start: Mapping[tuple[str, int], int]) -> list[Gone]:
    """Per topic short of what the run delivered, what the log start offsets say of it (nothing: left out)."""
    found = []
    for topic, delivered in manifest.delivered.items():
        missing = delivered - consumed.get(topic, 0)
        if missing <= 0:
            continue
        ranges = manifest.offsets.get(topic)
        if ranges:
            passed = [
                (r, min(r.end, log_start[topic, r.partition]) - r.start)
                for r in ranges
                if log_start.get((topic, r.partition), 0) > r.start
            ]
            if not passed:
                continue
            below = sum(n for _, n in passed)
            # Other producers' records in the run's ranges may be among those deleted.
            shared = sum(r.end - r.start for r in ranges) - delivered
            why = ", ".join(
                f"partition {r.partition}: log start offset {log_start[topic, r.partition]}, "
                f"past {n} of the run's offsets {r.start}-{r.end - 1}"
                for r, n in passed
            )
            if shared > 0:
                why += f" (the ranges also hold {shared} records of other producers)"
            found.append(Gone(topic, missing, min(missing, below if shared <= 0 else max(0, below - shared)), why))
            continue
        above = sorted((p, low) for (t, p), low in log_start.items() if t == topic and low > 0)
        if above and sum(low for _, low in above) >= missing:
            why = ", ".join(f"partition {p}: log start offset {low}" for p, low in above)
            found.append(Gone(topic, missing, 0, why))
    return found


def check(manifest: Manifest, consumed: Mapping[str, int], found: list[Gone]) -> Check:
    """The report's line on records the broker deleted: a failure that names its cause and the fix."""
    missing = sum(max(0, n - consumed.get(topic, 0)) for topic, n in manifest.delivered.items())
    deleted = sum(g.deleted for g in found)
    offenders = tuple(
        f"{g.topic}: {g.deleted} of {g.missing} missing deleted ({g.why})"
        if manifest.offsets
        else f"{g.topic}: {g.missing} missing ({g.why})"
        for g in found
    )
    if not manifest.offsets:
        detail = (
            f"the log start offset is above 0 on {len(found)} topics short of records: their "
            f"{sum(g.missing for g in found)} missing records (of {missing}) are consistent with deletion by the "
            f"broker (retention or delete-records; the summary has no offsets to count them); {_FIX}"
        )
    elif deleted == missing:
        detail = (
            f"all {missing} missing records of the run were deleted by the broker: the log start offset moved past "
            f"them (retention by record timestamp, or delete-records); {_FIX}"
        )
    else:
        detail = (
            f"{deleted} of {missing} missing records of the run were deleted by the broker: the log start offset "
            f"moved past them (retention by record timestamp, or delete-records); the other {missing - deleted} "
            f"are missing for another reason; {_FIX}"
        )
    return Check("deleted", False, detail, offenders)
