"""What is wrong with an input of ``fit`` or ``compare``: one line naming the file, the row, the problem."""

from __future__ import annotations


class SourceError(Exception):
    """An input that cannot be read as payment status events.

    Its text is one line: the file (or ``kafka``), the row when there is one (``line 7``,
    ``record 12``), and the problem, e.g.
    ``events.csv line 7: changed_at "31/01/2026" is not a time (epoch ms, epoch s or ISO 8601)``.
    The command line prints it and exits 2.
    """


def at(name: str, row: str | None, problem: str) -> SourceError:
    """The error ``<name> <row>: <problem>``, or ``<name>: <problem>`` without a row."""
    where = f"{name} {row}" if row else name
    return SourceError(f"{where}: {_one_line(problem)}")


def _one_line(text: str) -> str:
    return " ".join(text.split())
