"""The one error configuration raises, and how its one line names the value at fault."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from synthpay.config.parsers import Parser

T = TypeVar("T")

#: The longest value an error line quotes whole; a longer one is cut to a prefix and its length.
QUOTED_MAX = 80
_PREFIX = 40


class ConfigError(Exception):
    """A setting is wrong; the message is one line meant for the user."""


def quoted(value: object) -> str:
    """``value`` as an error line shows it: its repr, or a readable prefix and the length when long.

    A value can be megabytes (a ``.env`` line, a topic name): the line must stay one a
    terminal shows, and a prefix is enough to recognise the value by.
    """
    shown = repr(value)
    if len(shown) <= QUOTED_MAX:
        return shown
    if isinstance(value, str):
        return f"{value[:_PREFIX]!r}... ({len(value):_} characters)"
    return f"{shown[:_PREFIX]}... ({len(shown):_} characters as written here)"


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    """The known name ``name`` is most likely a misspelling of, if any is close.

    difflib finds the close ones; of those the fewest typing mistakes away wins (difflib's
    ratio alone can prefer a name that shares longer runs of letters but differs more).
    """
    close = difflib.get_close_matches(name, list(known), n=3)
    return min(close, key=lambda candidate: _mistakes(name, candidate), default=None)


def _mistakes(a: str, b: str) -> int:
    """Letters dropped, added, changed or swapped with a neighbour to turn ``a`` into ``b``."""
    before: list[int] = []
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        above, row = row, [i]
        for j, y in enumerate(b, 1):
            best = min(above[j] + 1, row[j - 1] + 1, above[j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                best = min(best, before[j - 2] + 1)
            row.append(best)
        before = above
    return row[-1]


def not_utf8(value: object) -> bool:
    """Whether ``value`` holds bytes that were not UTF-8: Python reads such an environment
    variable or argument with each bad byte as a lone surrogate, which no encoder takes."""
    if not isinstance(value, str):
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return True
    return False


@dataclass(frozen=True, slots=True)
class Given:
    """A raw value as one layer gave it: what an error line quotes back to the user."""

    raw: object  # untyped: as TOML, the environment or a flag had it
    origin: str  # the layer, e.g. "config.toml" or "environment"
    name: str  # how the user spelled it there
    text: bool  # True when it came as text (environment, flags) and needs converting

    def __str__(self) -> str:
        """``NUM_WORKERS = '0' (environment)``."""
        return f"{self.name} = {quoted(self.raw)} ({self.origin})"


def checked(parse: Parser[T], given: Given) -> T:
    """``given`` read by ``parse``; a refused value raises ConfigError (a masked one shown as ``'***'``).

    A value that is not UTF-8 is refused before it is read, and never shown: it would
    fail later in whatever encodes it (a file, a Kafka client, a log line).
    """
    if not_utf8(given.raw):
        raise ConfigError(f"{given.name} ({given.origin}): not valid UTF-8 text; expected {parse.accepted}")
    try:
        return parse(given.raw, given.text)
    except ValueError as exc:
        shown = "'***'" if parse.masked else quoted(given.raw)
        raise ConfigError(f"{given.name} = {shown} ({given.origin}): expected {exc}") from None
