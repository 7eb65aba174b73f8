"""compare's table and JSON document."""

from __future__ import annotations

import json
import math

from calibrate.made_profiles import DELAYS, made

from synthpay.calibrate.compare import Comparison, Row, Side, Thresholds, compare
from synthpay.calibrate.compare_report import JSON_VERSION, render, to_json

ROW_KEYS = {
    "section",
    "name",
    "a",
    "b",
    "unit",
    "statistic_name",
    "statistic",
    "bound",
    "threshold",
    "passed",
    "note",
}


def _slower() -> Comparison:
    return compare(made(seed=1), made(seed=2, delays={**DELAYS, "Validated": 480.0}), labels=("real", "synthetic"))


def test_the_json_document_has_the_documented_shape() -> None:
    document = json.loads(to_json(_slower()))
    assert set(document) == {"version", "passed", "failed", "a", "b", "thresholds", "rows"}
    assert (document["version"], document["passed"], document["failed"]) == (JSON_VERSION, False, 1)
    assert set(document["a"]) == {"label", "payments", "events", "first", "last"}
    assert document["thresholds"]["max_ks"] == Thresholds().max_ks
    assert document["rows"] and all(set(row) == ROW_KEYS for row in document["rows"])


def test_the_json_rows_name_the_failing_check() -> None:
    rows = json.loads(to_json(_slower()))["rows"]
    assert [(r["section"], r["name"]) for r in rows if r["passed"] is False] == [("delays", "Validated")]


def test_an_infinite_statistic_is_null_in_json() -> None:
    side = Side("x", 0, 0, 0, 0)
    row = Row("rate", "overall", 0.0, 5.0, "/h", "relative_diff", math.inf, "max", 0.05, False)
    (written,) = json.loads(to_json(Comparison(side, side, Thresholds(), (row,))))["rows"]
    assert written["statistic"] is None


def test_the_table_ends_with_the_verdict_naming_the_failures() -> None:
    assert render(_slower()).splitlines()[-1] == "FAILED: 1 of 16 checks: delays Validated"


def test_the_table_names_both_sides_first() -> None:
    first, second = render(_slower()).splitlines()[:2]
    assert first.startswith("A: real: 10,000 payments") and second.startswith("B: synthetic: 10,000 payments")
