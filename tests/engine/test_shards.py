"""A --processes run as one engine: children's reports summed for the parent's endpoint."""

from __future__ import annotations

import io
import os
from dataclasses import replace

import trio
import trio.testing
from conftest import defaults_only
from hypothesis import given, settings
from hypothesis import strategies as st

from synthpay.config.settings import REPORT_FD
from synthpay.engine import shards
from synthpay.engine.shards import EMPTY, Report, Shards, total
from synthpay.engine.snapshot import Backfill
from synthpay.services.logs import make_logger

ONE = replace(
    EMPTY,
    events=10,
    emitted={"a": 6, "banks": 4},
    produced={"a": 6, "banks": 4},
    delivered={"a": 5, "banks": 4},
    failed={"a": 1, "banks": 0},
    produced_total=10,
    delivered_total=9,
    failed_total=1,
    in_flight=3,
    started=8,
    completed=5,
    lag_max_ms=40,
    elapsed_s=2.0,
    sink_queue=2,
    backlog=1,
    target_rate=25.0,
    achieved_rate=24.0,
    anomalies={"late": {"a": 2}},
    backfill=Backfill(True, 1.0, 2_000),
    phase="outage",
)
TWO = replace(
    ONE,
    emitted={"a": 1, "banks": 4},
    io_busy=True,
    lag_max_ms=90,
    elapsed_s=1.5,
    sink_queue=None,
    anomalies={"late": {"a": 1}, "missing": {"a": 3}},
    backfill=Backfill(False, 0.5, 1_000),
    draining=True,
)


def test_counts_are_summed_per_topic_and_the_worst_figures_kept() -> None:
    whole = total([ONE, TWO])
    assert whole.emitted == {"a": 7, "banks": 8}
    assert (whole.events, whole.started, whole.in_flight, whole.failed_total) == (20, 16, 6, 2)
    assert (whole.target_rate, whole.achieved_rate, whole.backlog) == (50.0, 48.0, 2)
    assert whole.sink_queue == 2  # a child that does not measure it adds nothing
    assert (whole.lag_max_ms, whole.elapsed_s, whole.io_busy, whole.draining) == (90, 2.0, True, True)
    assert whole.anomalies == {"late": {"a": 3}, "missing": {"a": 3}}
    assert whole.backfill == Backfill(False, 0.5, 1_000)  # live only once every child is
    assert whole.phase == "outage"


def test_what_no_child_measures_stays_unmeasured() -> None:
    whole = total([EMPTY, EMPTY])
    assert (whole.sink_queue, whole.target_rate, whole.anomalies, whole.backfill, whole.phase) == (
        None,
        None,
        None,
        None,
        None,
    )


@settings(max_examples=30)
@given(
    st.builds(
        Report,
        ready=st.booleans(),
        healthy=st.booleans(),
        reason=st.text(),
        snapshot=st.sampled_from([EMPTY, ONE, TWO]),
    )
)
def test_a_report_reads_back_as_written(report: Report) -> None:
    line = report.encode()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert Report.decode(line) == report


def test_the_pipe_is_named_only_by_the_parent() -> None:
    assert shards.report_fd({}) is None
    assert shards.report_fd({REPORT_FD: "7"}) == 7


def parent(count: int) -> Shards:
    return Shards(defaults_only(), make_logger("warning", stream=io.StringIO()), count)


def test_ready_once_every_child_is_and_healthy_while_every_child_is() -> None:
    view = parent(2)
    assert view.health() == (False, "process 0 has not reported yet")
    view.receive(0, Report(True, True, "ok", ONE))
    assert not view.ready.is_set() and view.health() == (False, "process 1 has not reported yet")
    view.receive(1, Report(True, False, "the I/O thread is not running", TWO))
    assert view.ready.is_set()
    assert view.health() == (False, "process 1: the I/O thread is not running")
    view.receive(1, Report(True, True, "ok", TWO))
    assert view.health() == (True, "ok")
    assert view.snapshot() == total([ONE, TWO])


def test_a_child_not_yet_heard_from_counts_nothing() -> None:
    view = parent(2)
    view.receive(1, Report(False, True, "ok", ONE))
    assert view.snapshot() == total([EMPTY, ONE])


async def test_the_parent_reads_reports_from_the_pipe_and_keeps_an_ended_childs_last() -> None:
    view = parent(1)
    read, write = os.pipe()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(view.listen, 0, read)
        line = Report(True, False, "stuck", ONE).encode()
        os.write(write, line[:20])  # a line may come in pieces
        await trio.testing.wait_all_tasks_blocked()
        assert view.snapshot() == EMPTY
        os.write(write, line[20:] + Report(True, True, "ok", TWO).encode()[:5])
        await trio.testing.wait_all_tasks_blocked()
        assert view.snapshot() == total([ONE]) and view.health() == (False, "process 0: stuck")
        os.close(write)
    # Its last figures stay in the sums; an ended child is not a stuck one.
    assert view.snapshot() == total([ONE]) and view.health() == (True, "ok")


def test_one_childs_total_is_its_own_figures() -> None:
    assert total([ONE]) == ONE and total([TWO]) == TWO
