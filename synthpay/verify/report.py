"""The outcome of a verification: its checks, as text for a reader or JSON for a program.

The JSON document's shape is a contract (docs/reference/cli.md, "The ``--json`` report"):
within its ``version`` keys are only added.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from synthpay.verify.checks import Check

#: The ``version`` of ``synthpay verify --json``'s document.
JSON_VERSION = 1


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome of a verification."""

    run_id: str
    checks: tuple[Check, ...]
    consumed: int  # records read, of this run and others
    elapsed_s: float
    sink: str = "kafka"  # what was read: the run's topics, or its files
    source: str = ""  # where: the bootstrap servers, or the directory
    by_topic: Mapping[str, int] | None = None  # records of the run read per topic

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(c.ok for c in self.checks)

    def render(self) -> str:
        """The readable report: one PASS/FAIL line per check, then the verdict."""
        failed = sum(not c.ok for c in self.checks)
        verdict = "OK: every check passed" if self.ok else f"FAILED: {failed} of {len(self.checks)} checks"
        where = f" from {self.source}" if self.sink == "file" else ""
        lines = [f"synthpay verify: run {self.run_id}: read {self.consumed} records{where} in {self.elapsed_s:.1f}s"]
        lines += [c.render() for c in self.checks]
        lines.append(verdict)
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        """The report as one JSON document, its ``version`` first."""
        return json.dumps(
            {
                "version": JSON_VERSION,
                "run_id": self.run_id,
                "sink": self.sink,
                "source": self.source,
                "ok": self.ok,
                "failed": sum(not c.ok for c in self.checks),
                "records_read": self.consumed,
                "topics_read": dict(self.by_topic or {}),
                "elapsed_s": round(self.elapsed_s, 3),
                "checks": [
                    {"name": c.name, "ok": c.ok, "detail": c.detail, "offenders": list(c.offenders)}
                    for c in self.checks
                ],
            },
            indent=2,
        )
