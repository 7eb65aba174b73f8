"""The seam between the file sink and a file format: one topic's writer, and a file that grows by whole blocks.

The sink (:mod:`synthpay.sinks.file`) keeps what every format shares: the directory, the
ledger, the blocks of pending events, the periodic flush and what a failure means. A
format's writer only turns a block of one topic's events into its files. Each
``file.format`` is one module with a ``Format`` (:class:`FileFormat`) naming its writer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from synthpay.model import serde
from synthpay.sinks.base import SinkError

if TYPE_CHECKING:
    from synthpay.config.settings import Settings
    from synthpay.model.events import Event, Labels, Topic


@dataclass(frozen=True, slots=True)
class Target:
    """Where and what one topic's writer writes."""

    directory: Path
    #: ``<topic>``, or ``<topic>.part<index>`` when the run is split across instances.
    stem: str
    topic: Topic
    settings: Settings
    labels: Labels
    #: Whether the run writes labels beside its records (phases, anomalies or zipf popularity).
    labelled: bool


class TopicWriter(Protocol):
    """One topic's files in one format. Every method may raise OSError, and leaves what a reader
    can see as it was: the files end on their last complete block, or file. An error about
    another file than :attr:`path` names it as its ``filename``."""

    #: How many of the events written so far a reader can see (the sink counts them delivered).
    readable: int

    @property
    def path(self) -> Path:
        """The file being written: what an error names."""

    def write(self, block: Sequence[Event], complete: bool) -> None:
        """Append ``block`` (may be empty); ``complete``: make everything written readable now (a flush)."""

    def close(self) -> None:
        """Release the files; what was written is readable (after a last ``write(..., complete=True)``)."""

    def abandon(self) -> None:
        """After a failure: drop what is not readable yet (``close`` still follows)."""


@dataclass(frozen=True, slots=True)
class FileFormat:
    """One ``file.format``: its writer, and how many events make a block."""

    name: str
    #: Does what can fail before the directory is touched (reads schemas: SinkError), and
    #: returns what opens the writer once the sink holds the directory.
    prepare: Callable[[Target], Callable[[], TopicWriter]]
    #: Events per block: a write goes to disk at least this often.
    block_events: Callable[[Settings], int]
    #: Under the real clock, seconds between flushes, so a reader sees a long run's events.
    flush_every_s: Callable[[Settings], float]


def schema_text(schema_name: str, topic: str) -> str:
    """The text of ``avro/<schema_name>.avsc``; SinkError naming it (not the directory) when it cannot be read."""
    try:
        return serde.schema_text(schema_name)
    except OSError as exc:
        raise SinkError(f"file sink: cannot read the {schema_name!r} schema for {topic!r}: {why(exc)}") from None


def why(exc: OSError) -> str:
    """What the system said; an OSError raised by Python code may carry a message and no errno."""
    return exc.strerror or str(exc) or type(exc).__name__


class AppendFile:
    """A file that only ever grows by a whole block: a write that fails (a full disk) is cut
    off again, so the file always ends on a complete one."""

    __slots__ = ("fd", "path", "size")

    def __init__(self, path: Path, header: bytes = b"") -> None:
        self.path = path
        self.size = 0
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        if not header:
            return
        try:
            self.append(header)
        except OSError:
            # Without a whole header the file is no file of its format at all: none beats a broken one.
            self.close()
            path.unlink(missing_ok=True)
            raise

    def append(self, data: bytes) -> None:
        """Write all of ``data`` at the end, or raise with the file as it was."""
        view, done = memoryview(data), 0
        try:
            while done < len(data):
                done += os.write(self.fd, view[done:])
        except OSError:
            try:
                os.ftruncate(self.fd, self.size)
                os.lseek(self.fd, self.size, os.SEEK_SET)
            except OSError:
                pass  # the write's error is the one to report
            raise
        self.size += done

    def cut(self, size: int) -> None:
        """Cut the file back to ``size`` bytes: a block a companion file could not follow."""
        os.ftruncate(self.fd, size)
        os.lseek(self.fd, size, os.SEEK_SET)
        self.size = size

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
