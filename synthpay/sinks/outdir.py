"""Claiming the file sink's output directory: one run at a time, never over an earlier run.

Two locks, both ``flock``s the kernel drops when the process ends, even on SIGKILL:

- ``.synthpay.lock``, held exclusively for the moment a run looks at the directory and
  claims it, so two runs starting together cannot both find it free;
- ``.synthpay.run``, which names the run id of the run writing there; each of its
  instances (``--processes`` children share a run id) holds a shared lock on it while
  it runs. Another run finding it held is refused.

A run that finds the directory free but holding ``.avro`` files of another run id refuses
too, unless ``file.overwrite``: then it removes them first, so no file of an earlier run
(with other statuses, say) is left beside the new ones. Files of its own run id are its
siblings' (a ``--processes`` child that finished first) and stay.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from synthpay.sinks.base import SinkRefused

_SETUP_LOCK = ".synthpay.lock"
_RUN_LOCK = ".synthpay.run"


def claim(directory: Path, run_id: str, overwrite: bool) -> int:
    """Make ``directory`` this run's; return the descriptor whose lock holds it (close to release)."""
    directory.mkdir(parents=True, exist_ok=True)
    setup = os.open(directory / _SETUP_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(setup, fcntl.LOCK_EX)
        held = os.open(directory / _RUN_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _take(directory, held, run_id, overwrite)
        except BaseException:
            os.close(held)
            raise
        return held
    finally:
        os.close(setup)


def _take(directory: Path, held: int, run_id: str, overwrite: bool) -> None:
    holder = os.pread(held, 4096, 0).decode(errors="replace").strip()
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if holder != run_id:
            raise SinkRefused(
                f"file sink: {str(directory)!r} is in use by another run (run id {holder}); give this one another --out"
            ) from None
        fcntl.flock(held, fcntl.LOCK_SH)  # another instance of this same run
        return
    if holder == run_id:
        # Files of this same run: a --processes sibling that has finished already.
        fcntl.flock(held, fcntl.LOCK_SH)
        return
    earlier = sorted(directory.glob("*.avro"))
    if earlier and not overwrite:
        raise SinkRefused(
            f"file sink: {str(directory)!r} holds {len(earlier)} .avro file(s) of an earlier run; "
            "give another --out, or --overwrite (file.overwrite) to replace them"
        )
    for path in earlier:
        path.unlink()
    os.ftruncate(held, 0)
    os.pwrite(held, run_id.encode() + b"\n", 0)
    # Shared from now on, so the run's other instances can join; the setup lock keeps
    # any other run out while the exclusive lock turns into a shared one.
    fcntl.flock(held, fcntl.LOCK_SH)
