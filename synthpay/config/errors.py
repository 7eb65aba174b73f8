"""The one error configuration raises, and how its one line names the value at fault."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from synthpay.config.parsers import Parser

T = TypeVar("T")


class ConfigError(Exception):
    """A setting is wrong; the message is one line meant for the user."""


@dataclass(frozen=True, slots=True)
class Given:
    """A raw value as one layer gave it: what an error line quotes back to the user."""

    raw: object  # untyped: as TOML, the environment or a flag had it
    origin: str  # the layer, e.g. "config.toml" or "environment"
    name: str  # how the user spelled it there
    text: bool  # True when it came as text (environment, flags) and needs converting

    def __str__(self) -> str:
        """``NUM_WORKERS = '0' (environment)``."""
        return f"{self.name} = {self.raw!r} ({self.origin})"


def checked(parse: Parser[T], given: Given) -> T:
    """``given`` read by ``parse``; a refused value raises ConfigError (a masked one shown as ``'***'``)."""
    try:
        return parse(given.raw, given.text)
    except ValueError as exc:
        shown = "'***'" if parse.masked else repr(given.raw)
        raise ConfigError(f"{given.name} = {shown} ({given.origin}): expected {exc}") from None
