"""The summary file: written by ``--summary-json``, read back by ``--processes`` and ``verify``.

Reading it back gives the same typed Summary that was written; a file that is not one
ends in one SummaryError line naming the file and what is wrong, whatever is in it.
"""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import structlog
from conftest import run_engine, settings_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthpay.engine import processes
from synthpay.engine.identity import RunIdentity
from synthpay.model.reports import PlannedWorkflow, RunPlan
from synthpay.summary.document import SCHEMA_VERSION, PartitionRange, Summary, SummaryError
from synthpay.summary.load import load_summary
from synthpay.summary.merge import merge


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Summary, str]:
    """A real run's summary and the JSON ``--summary-json`` writes for it."""
    summary, _, _ = run_engine(tmp_path_factory.mktemp("run"), {"run.payments": 40})
    return summary, summary.to_json()


def load_text(tmp_path: Path, text: str | bytes) -> Summary:
    path = tmp_path / "s.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return load_summary(path)


def test_reading_back_gives_the_summary_written(tmp_path: Path, written: tuple[Summary, str]) -> None:
    summary, text = written
    assert load_text(tmp_path, text) == summary


def test_the_plan_is_typed_and_written_as_before(written: tuple[Summary, str]) -> None:
    summary, text = written
    assert isinstance(summary.plan, RunPlan) and isinstance(summary.plan.workflows[0], PlannedWorkflow)
    plan = json.loads(text)["plan"]
    assert list(plan) == ["timing", "banks_topic", "statuses", "workflows"]
    assert plan["statuses"]["Initiated"] == {"topic": "payment-initiated", "delay_ms": 100}
    assert plan["workflows"][0] == {
        "label": "[Initiated Failed]",
        "steps": ["Initiated", "Failed"],
        "schedule": [["Initiated", 100], ["Failed", 1100]],
    }


def test_merged_summaries_read_back_too(tmp_path: Path, written: tuple[Summary, str]) -> None:
    summary, _ = written
    merged = merge([summary, summary], 1.5)
    assert load_text(tmp_path, merged.to_json()) == merged


def test_the_schema_version_is_the_first_key(written: tuple[Summary, str]) -> None:
    assert next(iter(json.loads(written[1]).items())) == ("version", SCHEMA_VERSION)


def test_a_summary_from_before_versions_loads_as_version_1(tmp_path: Path, written: tuple[Summary, str]) -> None:
    summary, text = written
    assert load_text(tmp_path, _edit(text, ("version",), _DROP)) == summary


def test_a_newer_version_is_refused_in_one_line(tmp_path: Path, written: tuple[Summary, str]) -> None:
    with pytest.raises(SummaryError) as caught:
        load_text(tmp_path, _edit(written[1], ("version",), SCHEMA_VERSION + 1))
    where = str(tmp_path / "s.json")
    assert str(caught.value) == (
        f"summary {where!r}: version 2 is newer than this synthpay reads (1); upgrade synthpay to read it"
    )


def _edit(text: str, path: tuple[str | int, ...], value: Any) -> str:
    data = json.loads(text)
    node = data
    for step in path[:-1]:
        node = node[step]
    if value is _DROP:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return json.dumps(data)


_DROP = object()


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("version",), "1", 'version: expected a whole number, got "1"'),
        (("version",), 0, "version: expected a whole number from 1, got 0"),
        (("seed",), _DROP, "seed: missing"),
        (("seed",), "42", 'seed: expected a whole number, got "42"'),
        (("seed",), True, "seed: expected a whole number, got true"),
        (("elapsed_s",), None, "elapsed_s: expected a number, got null"),
        (("topics", "banks", "delivered"), _DROP, "topics.banks.delivered: missing"),
        (("topics", "banks"), [1], "topics.banks: expected an object"),
        (("plan",), _DROP, "plan: missing"),
        (("plan", "timing"), "sideways", "plan.timing: expected one of 'sequential', 'parallel', got \"sideways\""),
        (("plan", "statuses", "Initiated", "topic"), 7, "plan.statuses.Initiated.topic: expected a string, got 7"),
        (("plan", "workflows"), {}, "plan.workflows: expected a list"),
        (("plan", "workflows", 0, "schedule", 0), ["Initiated"], "plan.workflows[0].schedule[0]: expected a list of 2"),
        (
            ("plan", "workflows", 0, "schedule", 1, 0),
            "Lost",
            "plan.workflows[0].schedule[1]: status 'Lost' is not in plan.statuses",
        ),
    ],
    ids=[
        "version-text",
        "version-0",
        "no-seed",
        "seed-text",
        "seed-bool",
        "elapsed-null",
        "no-delivered",
        "topic-list",
        "no-plan",
        "timing",
        "topic-int",
        "workflows-object",
        "schedule-pair",
        "unknown-status",
    ],
)
def test_a_summary_with_a_bad_field_names_it(
    tmp_path: Path, written: tuple[Summary, str], path: tuple[str | int, ...], value: Any, problem: str
) -> None:
    with pytest.raises(SummaryError) as caught:
        load_text(tmp_path, _edit(written[1], path, value))
    where = str(tmp_path / "s.json")
    assert str(caught.value) == (
        f"summary {where!r}: not a synthpay run summary ({problem}); write one with `synthpay run --summary-json PATH`"
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read: No such file or directory"),
        ("{not json", "not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        (b"\xff\xfe{}", "not JSON: not UTF-8 (invalid start byte at byte 0)"),
        ("[" * 100_000 + "]" * 100_000, "not JSON a summary can be: nested too deeply"),
        (
            "9" * 5000,
            "not JSON: Exceeds the limit (4300 digits) for integer string conversion: "
            "value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit",
        ),
        (
            "[]",
            "not a synthpay run summary (the document: expected an object); "
            "write one with `synthpay run --summary-json PATH`",
        ),
        (
            '{"run_id": "x"}',
            "not a synthpay run summary (seed: missing); write one with `synthpay run --summary-json PATH`",
        ),
    ],
    ids=["missing", "not-json", "not-utf8", "deeply-nested", "huge-int", "a-list", "no-fields"],
)
def test_a_file_that_is_no_summary_is_one_line(tmp_path: Path, content: str | bytes | None, problem: str) -> None:
    path = tmp_path / "s.json"
    with pytest.raises(SummaryError) as caught:
        load_text(tmp_path, content) if content is not None else load_summary(path)
    assert str(caught.value) == f"summary {str(path)!r}: {problem}"
    assert "\n" not in str(caught.value)


def _paths(node: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every place in a JSON document a value could be replaced."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    found = []
    for key, child in items:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_edit_loads_or_is_one_summary_error(
    tmp_path: Path, written: tuple[Summary, str], data: st.DataObject
) -> None:
    text = written[1]
    edits = data.draw(
        st.lists(
            st.tuples(st.sampled_from(_paths(json.loads(text))), json_values | st.just(_DROP)), min_size=1, max_size=3
        )
    )
    for path, value in edits:
        try:
            text = _edit(text, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced what this one would change
    try:
        loaded = load_text(tmp_path, text)
    except SummaryError as exc:
        refusal = str(exc)
    else:  # compared as text: a NaN read back is not equal to itself
        assert load_text(tmp_path, loaded.to_json()).to_json() == loaded.to_json()
        return
    assert "\n" not in refusal


async def _children_leaving(text: str, commands: list[list[str]], stdout: int | None, log: Any, *_: Any) -> list[int]:
    """Stands in for the children of ``--processes``: each writes ``text`` as its summary and exits 0."""
    for command in commands:
        Path(command[command.index("--summary-json") + 1]).write_text(text)
    return [0] * len(commands)


def test_processes_read_their_childrens_summaries_with_the_same_loader(
    monkeypatch: pytest.MonkeyPatch, written: tuple[Summary, str]
) -> None:
    summary, text = written
    monkeypatch.setattr(processes, "_supervise", functools.partial(_children_leaving, text))
    merged = processes.run(
        settings_for(overrides={"run.processes": 2}), RunIdentity(1, "r"), [], structlog.get_logger()
    )
    assert merged.events_total == 2 * summary.events_total and merged.plan == summary.plan


def test_a_child_summary_that_cannot_be_read_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes, "_supervise", functools.partial(_children_leaving, '{"run_id": "x"}'))
    with pytest.raises(
        processes.ShardError,
        match=r"^a process left a summary that cannot be read: summary '.*0\.json': "
        r"not a synthpay run summary \(seed: missing\)",
    ):
        processes.run(settings_for(overrides={"run.processes": 2}), RunIdentity(1, "r"), [], structlog.get_logger())


def test_offsets_read_back_and_a_summary_without_them_has_none(tmp_path: Path, written: tuple[Summary, str]) -> None:
    summary, text = written
    placed = replace(summary, offsets={"payment-initiated": (PartitionRange(0, 3, 9), PartitionRange(2, 0, 4))})
    assert "offsets" not in json.loads(text)
    assert load_text(tmp_path, text).offsets == {}
    assert load_text(tmp_path, placed.to_json()) == placed


def test_merged_offsets_span_the_childrens_ranges(written: tuple[Summary, str]) -> None:
    summary, _ = written
    first = replace(summary, offsets={"t": (PartitionRange(0, 3, 9),)})
    second = replace(summary, offsets={"t": (PartitionRange(0, 9, 12), PartitionRange(1, 0, 2))})
    assert merge([first, second], 1.0).offsets == {"t": (PartitionRange(0, 3, 12), PartitionRange(1, 0, 2))}


def test_merged_offsets_are_left_out_when_a_child_has_none(written: tuple[Summary, str]) -> None:
    summary, _ = written
    assert merge([replace(summary, offsets={"t": (PartitionRange(0, 3, 9),)}), summary], 1.0).offsets == {}
