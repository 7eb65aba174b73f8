"""The engine as its companions see it: a frozen snapshot of its figures, and a Protocol of what they read.

The metrics endpoint and the systemd notifier read the engine through EngineView; they and
the terminal's progress display read its figures as a Snapshot, and nothing more, so tests
can hand them a fake engine or plain figures. The progress log is the engine's own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from types import TracebackType

    import trio
    from structlog.typing import FilteringBoundLogger

    from synthpay.config.settings import Settings


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Live figures of one engine at one moment; plain data, cheap to build.

    The figures that default to None are left out of /metrics when a view does not
    measure them, rather than shown as zero.
    """

    events: int
    emitted: Mapping[str, int]  # per topic
    produced: Mapping[str, int]
    delivered: Mapping[str, int]
    failed: Mapping[str, int]
    produced_total: int
    delivered_total: int
    failed_total: int
    in_flight: int
    started: int
    completed: int
    io_busy: bool
    lag_max_ms: int
    elapsed_s: float
    sink_queue: int | None = None
    backlog: int | None = None
    target_rate: float | None = None
    achieved_rate: float | None = None
    anomalies: Mapping[str, Mapping[str, int]] | None = None  # with [anomalies]: per kind, per topic
    backfill: Backfill | None = None  # for a run whose history ends now (engine.span)
    phase: str | None = None  # with [[phases]]: the one in force, "" outside every phase
    draining: bool = False  # a stop was requested: no new payments, those in flight finish


@dataclass(frozen=True, slots=True)
class Backfill:
    """Where a run whose history ends now stands: still catching up, or live."""

    live: bool
    #: Share of the event time from the run's start to now emitted so far (1.0 once live).
    done: float
    #: The engine's event time, epoch ms.
    event_time_ms: int

    @property
    def part(self) -> str:
        """ "backfill" or "live", as the log, STATUS and the display name it."""
        return "live" if self.live else "backfill"


class EngineView(Protocol):
    """What the companions (metrics endpoint, systemd notifier) read from an engine."""

    @property
    def settings(self) -> Settings: ...

    @property
    def log(self) -> FilteringBoundLogger: ...

    @property
    def ready(self) -> trio.Event:
        """Set once the sink is open."""

    @property
    def stopping(self) -> trio.Event:
        """Set once a stop was requested or generation ended."""

    def health(self) -> tuple[bool, str]:
        """(healthy, reason)."""

    def snapshot(self) -> Snapshot:
        """The current figures."""


class Display(Protocol):
    """A live view the engine redraws from its snapshots (the terminal's progress display)."""

    period_s: float

    def __enter__(self) -> Display: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def show(self, snapshot: Snapshot) -> None:
        """Redraw from one snapshot."""


#: A companion task that lives as long as the engine (metrics endpoint, systemd notifier...).
Service = Callable[[EngineView], Awaitable[None]]


class Endpoint(Protocol):
    """A service that reports when it is up (``nursery.start``): the metrics endpoint, once it listens."""

    def __call__(self, engine: EngineView, *, task_status: trio.TaskStatus[int]) -> Awaitable[None]: ...
