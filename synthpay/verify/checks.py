"""The lines of verify's report, and the tally of what fails one of them.

Shared by verify and the checks it runs for scenarios and anomalies, so every failing
check keeps a count and only the first few examples, however broken the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: How many offending ids or details a failed check prints (and keeps).
SHOWN = 5


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report."""

    name: str
    ok: bool
    detail: str
    offenders: tuple[str, ...] = ()

    def render(self) -> str:
        """``PASS  name: detail``, and the first offending ids when it failed."""
        line = f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"
        if self.offenders:
            line += "\n      first: " + ", ".join(self.offenders[:SHOWN])
        return line


@dataclass(slots=True)
class Offenders:
    """A count and the first few examples of one kind of problem."""

    count: int = 0
    shown: list[str] = field(default_factory=list)

    def add(self, example: str) -> None:
        self.count += 1
        if len(self.shown) < SHOWN:
            self.shown.append(example)
