"""A comparison as a table for a reader, or as one JSON document for a program.

The JSON document's shape is a contract (docs/reference/cli.md, "The compare ``--json``
document"): within its ``version`` keys are only added.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from datetime import UTC, datetime

from synthpay.calibrate.compare import Comparison, Row, Side

#: The ``version`` of ``synthpay compare --json``'s document.
JSON_VERSION = 1

_HEADINGS = ("", "A", "B", "statistic", "threshold", "")
#: How the table names each statistic.
_SHOWN = {"ks": "KS", "p": "p", "relative_diff": "rel. diff", "diff": "diff", "share": "share"}


def render(comparison: Comparison) -> str:
    """The table: the two sides, a line per row under its section's heading, then the verdict."""
    lines = [f"A: {_described(comparison.a)}", f"B: {_described(comparison.b)}"]
    cells: list[tuple[str, ...]] = []
    section = ""
    for row in comparison.rows:
        if row.section != section:
            section = row.section
            cells.append((f"[{section}]",))
        cells.append(_cells(row))
    widths = [max(len(c[i]) for c in cells if len(c) > i) for i in range(len(_HEADINGS))]
    for line in cells:
        if len(line) == 1:
            lines.append(line[0])
            continue
        name, *numbers, verdict = line
        padded = [name.ljust(widths[0]), *(n.rjust(w) for n, w in zip(numbers, widths[1:])), verdict]
        lines.append("  " + "  ".join(padded).rstrip())
    failed = comparison.failed
    judged = sum(row.passed is not None for row in comparison.rows)
    if failed:
        names = ", ".join(f"{row.section} {row.name}" for row in failed)
        lines.append(f"FAILED: {len(failed)} of {judged} checks: {names}")
    else:
        lines.append(f"OK: all {judged} checks passed")
    return "\n".join(lines) + "\n"


def _described(side: Side) -> str:
    when = f"{_iso(side.first_ms)} to {_iso(side.last_ms)}" if side.events else "nothing read"
    return f"{side.label}: {side.payments:,} payments, {side.events:,} events, {when}"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _cells(row: Row) -> tuple[str, ...]:
    verdict = {None: "", True: "pass", False: "FAIL"}[row.passed]
    threshold = "" if row.threshold is None else f"{'<=' if row.bound == 'max' else '>='} {row.threshold:g}"
    statistic = (
        ""
        if row.statistic is None
        else f"{_SHOWN.get(row.statistic_name, row.statistic_name)} {_number(row.statistic)}"
    )
    note = f"  ({row.note})" if row.note else ""
    return (row.name, _value(row.a, row.unit), _value(row.b, row.unit), statistic, threshold, verdict + note)


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "share":
        if not value:
            return "0"
        return f"{value:.4%}" if value < 0.01 else f"{value:.2%}"
    if unit == "ms":
        return f"{value:,.0f} ms"
    if unit == "/h":
        return f"{value:,.0f}/h"
    if unit == "s":
        return f"{value:.2f}"
    return f"{value:,.0f}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "inf"
    return f"{value:.3g}" if 0 < value < 0.001 else f"{value:.4f}"


def to_json(comparison: Comparison) -> str:
    """The comparison as one JSON document, its ``version`` first (infinite statistics as null)."""
    document = {
        "version": JSON_VERSION,
        "passed": comparison.passed,
        "failed": len(comparison.failed),
        "a": _side(comparison.a),
        "b": _side(comparison.b),
        "thresholds": asdict(comparison.thresholds),
        "rows": [{key: _finite(value) for key, value in asdict(row).items()} for row in comparison.rows],
    }
    return json.dumps(document, indent=2, allow_nan=False)


def _side(side: Side) -> dict[str, object]:
    return {
        "label": side.label,
        "payments": side.payments,
        "events": side.events,
        "first": _iso(side.first_ms) if side.events else None,
        "last": _iso(side.last_ms) if side.events else None,
    }


def _finite(value: object) -> object:
    return None if isinstance(value, float) and not math.isfinite(value) else value
