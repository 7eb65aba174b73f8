"""Where a run's event time starts, where it hands over to the real clock, and how far it reaches.

The virtual clock emits history as fast as the sink takes it. Unless ``--start`` pins the
first event's time, that history ends about now: ``--backfill D`` starts it D ago, and a
plain virtual run starts it as long ago as the run is expected to last. Either way the
event time never runs ahead of the wall clock: when it reaches now, the run goes on under
the real clock (the seam), so no record is stamped in the future, where a broker refuses it
(Kafka 4 refuses timestamps more than ``log.message.timestamp.after.max.ms`` ahead). An
explicit ``--start`` keeps the old contract: exact, reproducible times, wherever they fall.
"""

from __future__ import annotations

import math
from typing import Final

from synthpay.config.settings import Settings
from synthpay.model.span import EventSpan
from synthpay.model.workflow import schedule

#: The quantile of a drawn delay taken as its long case.
_LONG: Final = 0.99


def longest_route_ms(settings: Settings) -> int:
    """About the longest a payment takes from its start to its last event: each drawn delay at its p99."""
    statuses, timing = settings.statuses, settings.timing
    lengths = [steps[-1].offset_ms for wf in settings.workflows if (steps := schedule(wf, statuses, timing, _LONG))]
    return max(lengths, default=0)


def admission_s(settings: Settings) -> float | None:
    """How long the run starts payments, when its settings bound that up front; None when they do not."""
    run = settings.run
    bounds = []
    if run.duration_s:
        bounds.append(run.duration_s)
    if run.payments and run.rate:
        # Poisson arrivals: three standard deviations past the mean time of the last start.
        bounds.append((run.payments + 3 * math.sqrt(run.payments)) / run.rate)
    return min(bounds) if bounds else None


def expected_s(settings: Settings) -> float:
    """Event time the run is not expected to exceed; 0 for a run without an end.

    Generous on purpose: a run that outlasts it plays its tail in real time, one that
    falls short only ends its history a little before now.
    """
    run = settings.run
    longest_s = longest_route_ms(settings) / 1000
    bound = admission_s(settings)
    if bound is None and run.payments:
        # Paced by the workers: each runs its share of payments one after another.
        bound = math.ceil(run.payments / run.instance_count / run.workers) * longest_s
    return 0.0 if bound is None else bound + longest_s


def hands_over(settings: Settings) -> bool:
    """Whether the run's event time is held back from passing the wall clock (see the module)."""
    return settings.run.clock == "virtual" and settings.run.start_ms is None


def start_ms(settings: Settings, now_ms: int) -> int:
    """The first event's time: ``--start``, else now minus the backfill or the run's expected span."""
    run = settings.run
    if run.start_ms is not None:
        return run.start_ms
    if run.clock != "virtual":
        return now_ms
    back_s = run.backfill_s or expected_s(settings)
    return now_ms - round(back_s * 1000)


def planned(settings: Settings, first_ms: int, now_ms: int) -> EventSpan:
    """The event times the run will write, for a sink to check before it produces."""
    if settings.run.clock == "real" or hands_over(settings):
        # From the seam on (from the start under the real clock) every event carries the
        # wall clock's time: none is ahead of it.
        return EventSpan(first_ms, now_ms, live_from_ms=now_ms)
    bound = admission_s(settings)
    if bound is None:
        return EventSpan(first_ms, None)
    return EventSpan(first_ms, first_ms + round(bound * 1000) + longest_route_ms(settings))
