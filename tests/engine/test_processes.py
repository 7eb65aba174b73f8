"""``--processes``: children never outlive the parent, and a stop while they start is a normal stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import subprocess_env

GRACE_S = 3


def running(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie no reaper collected has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def parent(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "synthpay", "run", "--mode", "continuous", "--sink", "null", *extra]
    return subprocess.Popen(
        argv, cwd=tmp_path, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def read_until(proc: subprocess.Popen[str], event: str) -> dict[str, object]:
    """The first log line of ``event`` the parent or a child writes."""
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if f'"{event}"' in line:
            found: dict[str, object] = json.loads(line)
            return found
    raise AssertionError(f"no {event} line")


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
@pytest.mark.timeout(120)
def test_children_stop_when_the_parent_is_killed(tmp_path: Path) -> None:
    proc = parent(tmp_path, "--processes", "2", "--rate", "20", "--shutdown-grace", str(GRACE_S))
    pids: list[int] = []
    try:
        started = read_until(proc, "processes_start")
        listed = started["pids"]
        assert isinstance(listed, list)
        pids = [int(pid) for pid in listed]
        read_until(proc, "run_start")
        read_until(proc, "run_start")  # both children generate
        proc.kill()
        killed = time.monotonic()
        # The children's stderr is the same pipe: its end means every child is gone.
        _, err = proc.communicate(timeout=GRACE_S + 15)
        ended = time.monotonic() - killed
    finally:
        for pid in pids:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
    assert len(pids) == 2 and not any(running(pid) for pid in pids)
    assert ended < GRACE_S + 5, f"children took {ended:.1f}s to end"
    lines = [json.loads(line) for line in err.splitlines()]
    # Each child stopped as on SIGTERM, once: it drained and logged its end.
    assert [line["event"] for line in lines].count("stopping") == 2
    assert [line["event"] for line in lines].count("run_end") == 2


@pytest.mark.timeout(120)
def test_a_stop_while_the_children_start_is_a_normal_stop(tmp_path: Path) -> None:
    proc = parent(tmp_path, "--processes", "4", "--summary-json", "s.json", "--shutdown-grace", str(GRACE_S))
    try:
        read_until(proc, "processes_start")  # the children are starting: none can be ready yet
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert proc.returncode == 0, err[-2000:]
    assert "no summary" not in err
    lines = [json.loads(line) for line in err.splitlines()]
    assert [line["event"] for line in lines].count("signal") == 1 + 4  # the parent's, then each child's
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["ok"] and summary["payments_cut"] == 0
    assert out.count("| TOTAL") == 4  # one merged set of tables
