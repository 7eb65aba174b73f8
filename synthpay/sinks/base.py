"""The sink extension point: what the I/O thread drives."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from synthpay.model.events import Labels

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

    from synthpay.config.settings import Settings
    from synthpay.model.events import Event, Topic
    from synthpay.model.span import EventSpan
    from synthpay.sinks.ledger import Ledger


class SinkError(Exception):
    """The sink cannot go on (or cannot start); the message is one line meant for the user."""


class ReaderGone(SinkError):
    """The reader has taken all it wants (it closed stdout, a preview has shown its events).

    It ends the run as a sink failure does, but it is none: nothing is reported as failed,
    and the command exits 0.
    """


class SinkRefused(SinkError):
    """The sink will not start as asked (its target is in use, say): the user must change something."""


#: However late the stop, a producer gets this long to hand over what it still holds.
MIN_FLUSH_S = 1.0


class StopDeadline:
    """When a stopping run must be over, in ``time.monotonic()`` seconds; set from Trio, read
    by the I/O thread (a float assignment, atomic under the GIL).

    Until a stop is requested it is infinitely far. A sink waiting on something that may never
    come (a full queue while the broker is down) gives up once the deadline has passed, and the
    final flush gets what is left of the budget.
    """

    __slots__ = ("_at",)

    def __init__(self) -> None:
        self._at = math.inf

    def set(self, at: float) -> None:
        """Stop by ``at``; a deadline only ever moves earlier."""
        self._at = min(self._at, at)

    def passed(self) -> bool:
        """True once a stop was requested and its time is up."""
        return time.monotonic() >= self._at

    def remaining(self) -> float:
        """Seconds until the deadline (infinite while no stop is requested)."""
        return self._at - time.monotonic()

    def flush_budget(self, default_s: float) -> float:
        """Seconds the final flush may take: ``default_s``, or what is left (at least MIN_FLUSH_S)."""
        return min(default_s, max(MIN_FLUSH_S, self.remaining()))


@dataclass(frozen=True, slots=True)
class SinkContext:
    """Everything a sink factory gets: the settings, the topics, where to count deliveries."""

    settings: Settings
    topics: tuple[Topic, ...]
    ledger: Ledger
    log: FilteringBoundLogger
    run_id: str
    #: Call while blocked for long inside write/flush (e.g. waiting on a full queue), so the
    #: engine's health check knows the I/O thread is alive, only slow.
    heartbeat: Callable[[], None] = lambda: None
    #: When a stopping run must be over; a sink must not wait past it.
    stop: StopDeadline = field(default_factory=StopDeadline)
    #: The event times the run will write, as far as known before it starts (None: not known).
    span: EventSpan | None = None

    @property
    def labels(self) -> Labels:
        """The labels this run writes beside its records (the Kafka sink's headers)."""
        settings = self.settings
        return Labels(self.run_id, phased=bool(settings.phases), anomalies=settings.injects_anomalies)


class Sink(Protocol):
    """Takes batches of events. Every method is called from the one I/O thread, never from Trio.

    Accounting: count each event in ``ctx.ledger`` as produced when accepted, and as
    delivered or failed once its fate is known (at once for synchronous sinks).
    """

    def write(self, batch: Sequence[Event]) -> None:
        """Accept a batch, in order. May block (that is the backpressure); must not drop."""

    def poll(self) -> None:
        """Service background work such as delivery reports; called after every write and at least every 100 ms."""

    def flush(self, timeout_s: float) -> int:
        """Deliver what is pending within ``timeout_s``; return how many events remain undelivered."""

    def close(self) -> None:
        """Release resources. Called once, also after an error."""


class SynchronousSink:
    """Base for sinks whose every write is final: nothing to poll, flush or close.

    Subclasses implement ``write`` and count with ``ctx.ledger.written(batch)``.
    """

    def poll(self) -> None:
        """Nothing runs in the background."""

    def flush(self, timeout_s: float) -> int:
        """Everything written is delivered already."""
        return 0

    def close(self) -> None:
        """Nothing to release."""
