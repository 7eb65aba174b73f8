"""Where ``--summary-json`` goes: checked before a run generates anything, written after it, never waited on.

The path is ``run.summary_json`` with the run id in place of ``{run_id}``; left empty, a
file-sink run writes ``summary.json`` in its own directory, beside its files, and any other
run writes none. A run into Kafka cannot be verified without its summary, so a path it
cannot be written to is refused before the first event. Only a regular file (or a new one)
is accepted: opening a fifo blocks until a reader comes, a directory or a device is no place
for a manifest.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from synthpay.config import placeholders
from synthpay.config.errors import ConfigError
from synthpay.config.settings import Settings

_EXPECTED = "expected a regular file, or a new one in an existing, writable directory"


DEFAULT_NAME = "summary.json"


def target(settings: Settings) -> str:
    """Where the summary of a run with these settings (its run id given) goes; "" for nowhere."""
    if settings.run.summary_json:
        return placeholders.expand(settings.run.summary_json, settings.run.run_id)
    if settings.run.sink == "file":
        return str(Path(placeholders.expand(settings.file.dir, settings.run.run_id)) / DEFAULT_NAME)
    return ""


def check(settings: Settings, origin: str) -> None:
    """Raise ConfigError unless the summary can be written where it goes; ``origin`` is the layer that named it.

    The default place is the file sink's directory, which the sink makes and claims before
    the first event: there is nothing to check yet.
    """
    if not settings.run.summary_json:
        return
    path = target(settings)
    problem = _problem(Path(path))
    if problem is not None:
        raise ConfigError(f"--summary-json (run.summary_json) = {path!r} ({origin}): {problem}; {_EXPECTED}")


def _problem(path: Path) -> str | None:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        directory = path.parent
        if not directory.is_dir():
            return f"its directory {str(directory)!r} does not exist"
        if not os.access(directory, os.W_OK | os.X_OK):
            return f"its directory {str(directory)!r} is not writable"
        return None
    except OSError as exc:
        return f"cannot reach it ({exc.strerror or type(exc).__name__})"
    if not stat.S_ISREG(mode):
        return f"it is {_kind(mode)}"
    if not os.access(path, os.W_OK):
        return "it is not writable"
    return None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a fifo"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def write(path: str, text: str) -> None:
    """Write ``text`` to ``path``; OSError if that fails.

    O_NONBLOCK: should a fifo have taken the checked file's place meanwhile, opening it fails
    (ENXIO without a reader) instead of waiting for one.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK, 0o666)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
