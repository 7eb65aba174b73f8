"""A person at a terminal: synthpay run under a real pseudo-terminal, the screen read back with pyte.

And the other side: with stderr on a pipe, the log is exactly JSON lines, as before.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyte
import pytest
from conftest import subprocess_env

COLS, ROWS = 120, 100
#: Short delays, so a real-clock run is over in a few seconds (its length is set by --rate).
FAST = {
    f"DELAY_{s}": "10" for s in ("INITIATED", "VALIDATED", "ACCOUNTED", "COMPLETED", "FAILED", "REJECTED", "CANCELED")
}
#: An SGR sequence that sets a foreground colour (basic, bright, 256 or true colour).
COLOUR = re.compile(rb"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;[25])[;m]")
BAR = re.compile(r"━[━╸╺ ]*\s+\d+%  completed \d+/200  started \d+  in flight \d+\s*\n.*events/s.*ETA")


@dataclass(frozen=True)
class Session:
    code: int
    frames: list[str]  # the screen after each read from the terminal
    raw: bytes

    @property
    def final(self) -> list[str]:
        return [line.rstrip() for line in self.frames[-1].split("\n")]


def terminal_env(**extra: str) -> dict[str, str]:
    env = subprocess_env(TERM="xterm-256color", **FAST, **extra)
    for name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        if name not in extra:
            env.pop(name, None)
    return env


def in_terminal(
    args: list[str], cwd: Path, env: dict[str, str], interrupt_when: Callable[[str], bool] | None = None
) -> Session:
    """Run ``synthpay`` with stdin, stdout and stderr on a pseudo-terminal of COLS x ROWS to the end.

    ``interrupt_when`` sees the screen after each read; once it says so, the run gets SIGINT.
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthpay", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    screen = pyte.Screen(COLS, ROWS)
    stream = pyte.ByteStream(screen)
    frames, raw = [], bytearray()
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 1.0)[0]:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the process and its terminal are gone
                break
            if not data:
                break
            raw += data
            stream.feed(data)
            frames.append("\n".join(screen.display))
            if interrupt_when is not None and interrupt_when(frames[-1]):
                proc.send_signal(signal.SIGINT)
                interrupt_when = None
        else:
            pytest.fail("synthpay did not finish in the terminal")
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return Session(code, frames, bytes(raw))


def table(lines: list[str], header: str) -> list[str]:
    """The closing table whose header row starts with ``header``, from its top rule to its bottom one."""
    start = next(i for i, line in enumerate(lines) if line.startswith(header)) - 1
    end = start + 1
    while end < len(lines) and lines[end].startswith(("|", "+")):
        end += 1
    return lines[start:end]


def test_a_batch_run_shows_a_live_bar_then_leaves_the_tables_intact(tmp_path: Path) -> None:
    session = in_terminal(["run", "--payments", "200", "--rate", "100", "--sink", "null"], tmp_path, terminal_env())

    assert session.code == 0
    assert any(BAR.search(frame) for frame in session.frames), "no progress bar was ever on the screen"
    assert any("delivered" in f and "elapsed" in f for f in session.frames if BAR.search(f))
    final = session.final
    assert not any("━" in line or "ETA" in line for line in final), "the bar is left over the tables"
    status = table(final, "| STATUS")
    assert status[0] == status[2] == status[-1] == "+-----------+-----------------+"
    assert status[1] == "| STATUS    | PRODUCED EVENTS |"
    assert re.fullmatch(r"\| Initiated \|\s+200 \|", status[3])
    assert table(final, "| DELIVERY")[3].startswith("| produced")
    assert any(line.startswith("Generating... [200] payments took") for line in final)


def test_console_log_lines_are_readable(tmp_path: Path) -> None:
    session = in_terminal(["run", "--payments", "200", "--rate", "100", "--sink", "null"], tmp_path, terminal_env())

    final = session.final
    start = next(line for line in final if " run_start " in line)
    assert re.match(r"\d\d:\d\d:\d\d \[info\s*\] run_start\s+run_id=", start)
    assert "sink=null" in start and "{" not in start
    assert any(re.match(r"\d\d:\d\d:\d\d \[info\s*\] run_end\s+ok=True", line) for line in final)


def test_a_continuous_run_shows_a_status_line_and_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    def status_shown(screen: str) -> bool:
        return "● running" in screen and "(target 50.0/s)" in screen and "lag max" in screen

    session = in_terminal(
        ["run", "--payments", "0", "--rate", "50", "--sink", "null"],
        tmp_path,
        terminal_env(),
        interrupt_when=status_shown,
    )

    assert any(status_shown(frame) for frame in session.frames)
    final = session.final
    assert session.code == 0
    assert not any("● running" in line for line in final)
    assert any(" signal " in line and "SIGINT" in line for line in final)
    assert table(final, "| WORKFLOW")[-2].startswith("| TOTAL")


def test_colours_on_a_terminal(tmp_path: Path) -> None:
    session = in_terminal(["run", "--payments", "50", "--clock", "virtual", "--sink", "null"], tmp_path, terminal_env())
    assert session.code == 0 and COLOUR.search(session.raw)


def test_no_color_turns_colours_off(tmp_path: Path) -> None:
    session = in_terminal(
        ["run", "--payments", "50", "--clock", "virtual", "--sink", "null"], tmp_path, terminal_env(NO_COLOR="1")
    )
    assert session.code == 0 and any(" run_end " in line for line in session.final)
    assert not COLOUR.search(session.raw)


def test_json_on_a_terminal_when_asked(tmp_path: Path) -> None:
    session = in_terminal(
        ["run", "--payments", "50", "--clock", "virtual", "--sink", "null"],
        tmp_path,
        terminal_env(SYNTHPAY_RUN_LOG_FORMAT="json"),
    )
    logged = [json.loads(line) for line in session.raw.decode().splitlines() if line.startswith("{")]
    assert next(e["event"] for e in logged) == "run_start" and logged[-1]["event"] == "run_end"
    assert b"\x1b[" not in session.raw


def test_with_a_pipe_the_log_is_exactly_json_lines(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "synthpay",
            "run",
            "--payments",
            "200",
            "--rate",
            "100",
            "--sink",
            "null",
            "--summary-interval",
            "0.5",
        ],
        cwd=tmp_path,
        env=terminal_env(),
        capture_output=True,
        timeout=120,
        check=True,
    )
    lines = done.stderr.decode().split("\n")
    assert lines[-1] == ""
    logged = [json.loads(line) for line in lines[:-1]]
    assert all(set(e) >= {"event", "level", "timestamp", "logger"} for e in logged)
    events = [e["event"] for e in logged]
    assert events[0] == "run_start" and "progress" in events and events[-1] == "run_end"
    assert "by_status" in logged[events.index("progress")]
    assert b"\x1b" not in done.stderr and b"\x1b" not in done.stdout
