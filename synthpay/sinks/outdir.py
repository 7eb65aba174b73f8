"""Claiming the file sink's output directory: one run at a time, never over an earlier run;
and the ``latest`` link beside a run's own directory.

Two locks, both ``flock``s the kernel drops when the process ends, even on SIGKILL:

- ``.synthpay.lock``, held exclusively for the moment a run looks at the directory and
  claims it, so two runs starting together cannot both find it free;
- ``.synthpay.run``, which names the run id of the run writing there; each of its
  instances (``--processes`` children share a run id) holds a shared lock on it while
  it runs. Another run finding it held is refused.

A run that finds the directory free but holding record files (``.avro``, ``.jsonl``,
``.parquet``) of another run id refuses too, unless ``file.overwrite``: then it removes them
first, so no file of an earlier run (with other statuses, or in another format, say) is left
beside the new ones. Their ``.labels`` files go with them, and so do labels left without
one, which would label the new run's records, and Parquet files a killed run left
unfinished. Files of its own run id are its siblings' (a ``--processes`` child that
finished first) and stay.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from synthpay.config.errors import quoted
from synthpay.sinks.base import SinkRefused

#: The files of a run's records, in every file.format.
_RECORDS = ("*.avro", "*.jsonl", "*.parquet")
#: What an earlier run may have left beside them: Avro labels, a Parquet file it was killed writing.
_BESIDE = ("*.labels", ".*.parquet.tmp")
_SETUP_LOCK = ".synthpay.lock"
_RUN_LOCK = ".synthpay.run"
#: What making the directory or a file in it says when the path itself is the problem.
_UNUSABLE = frozenset(
    {
        errno.EEXIST,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.ELOOP,
        errno.ENOENT,
        errno.ENAMETOOLONG,
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
    }
)


def claim(directory: Path, run_id: str, overwrite: bool) -> int:
    """Make ``directory`` this run's; return the descriptor whose lock holds it (close to release).

    A path that cannot be a directory to write in (a file, a fifo, a device, a symbolic link
    loop, a read-only or virtual file system) is refused: the user must give another. Any
    other OSError (a full disk, say) propagates.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _refused(directory, exc, _made(directory, exc)) from None
    try:
        setup = os.open(directory / _SETUP_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise _refused(directory, exc, f"cannot create a file in it: {exc.strerror}") from None
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


def _refused(directory: Path, exc: OSError, why: str) -> OSError | SinkRefused:
    """The refusal of ``directory`` when the path is at fault, else ``exc`` as it was."""
    if exc.errno not in _UNUSABLE:
        return exc
    return SinkRefused(
        f"--out / file.dir = {quoted(str(directory))}: {why}; "
        "expected a directory this run can create files in, or a path where one can be made"
    )


def _made(directory: Path, exc: OSError) -> str:
    """Why ``directory`` could not be made, in the words of what is there."""
    if isinstance(exc, FileExistsError):  # something is there that is no directory
        return "a symbolic link to no directory" if directory.is_symlink() else "it is not a directory"
    return f"cannot make it: {exc.strerror}"


def _take(directory: Path, held: int, run_id: str, overwrite: bool) -> None:
    holder = os.pread(held, 4096, 0).decode(errors="replace").strip()
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if holder != run_id:
            raise SinkRefused(
                f"file sink: {quoted(str(directory))} is in use by another run (run id {holder}); "
                "give this one another --out"
            ) from None
        fcntl.flock(held, fcntl.LOCK_SH)  # another instance of this same run
        return
    if holder == run_id:
        # Files of this same run: a --processes sibling that has finished already.
        fcntl.flock(held, fcntl.LOCK_SH)
        return
    earlier = sorted(p for pattern in _RECORDS for p in directory.glob(pattern))
    if earlier and not overwrite:
        kinds = "/".join(dict.fromkeys(p.suffix for p in earlier))
        raise SinkRefused(
            f"file sink: {quoted(str(directory))} holds {len(earlier)} {kinds} file(s) of an earlier run; "
            "give another --out, or --overwrite (file.overwrite) to replace them"
        )
    for path in (*earlier, *(p for pattern in _BESIDE for p in directory.glob(pattern))):
        path.unlink()
    os.ftruncate(held, 0)
    os.pwrite(held, run_id.encode() + b"\n", 0)
    # Shared from now on, so the run's other instances can join; the setup lock keeps
    # any other run out while the exclusive lock turns into a shared one.
    fcntl.flock(held, fcntl.LOCK_SH)


LATEST = "latest"


def link_latest(directory: Path) -> str | None:
    """Point ``latest`` beside ``directory`` at it, so the newest run is found without its id;
    the reason it could not, or None.

    The link is relative (the tree can move) and replaced in one rename, so a reader never
    finds it missing. Anything else called ``latest`` there is the user's, and stays.
    """
    link = directory.parent / LATEST
    if directory.name == LATEST:
        return f"the run's own directory is called {LATEST!r}"
    if os.path.lexists(link) and not link.is_symlink():
        return f"{quoted(str(link))} is there already and is no symbolic link"
    staged = directory.parent / f".{LATEST}.{os.getpid()}"
    try:
        staged.unlink(missing_ok=True)
        staged.symlink_to(directory.name, target_is_directory=True)
        os.replace(staged, link)
    except OSError as exc:
        staged.unlink(missing_ok=True)
        return f"cannot link {quoted(str(link))}: {exc.strerror or type(exc).__name__}"
    return None
