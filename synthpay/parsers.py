"""How one setting's value is read and checked.

A parser takes the raw value and whether it came as text (environment, ``.env``, flags)
or typed (TOML), and returns the typed value or raises ``ValueError`` whose message says
what is accepted: the loader puts it after "expected" in the one-line error. Every number
has an upper bound as well as a lower one, so no value can make a run spin, flood or hang.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

Parser = Callable[[Any, bool], Any]


class _Unknown:
    """A value of no type a setting takes: every parser rejects it, saying what it accepts."""


def accepted(parse: Parser) -> str:
    """What ``parse`` accepts, in the words its errors use."""
    try:
        parse(_Unknown(), False)
    except ValueError as exc:
        return str(exc)
    raise AssertionError(f"{parse!r} accepted a value of no known type")


def _shown(n: float) -> str:
    """A bound as the user could type it back (TOML and the text parsers accept ``_``)."""
    return f"{int(n):_}" if n == int(n) else f"{n:g}"


def whole(minimum: int, maximum: int) -> Parser:
    """A whole number in [minimum, maximum]."""
    accepted = f"a whole number from {_shown(minimum)} to {_shown(maximum)}"

    def parse(raw: Any, text: bool) -> int:
        if text:
            try:
                raw = int(str(raw).strip().replace("_", ""))
            except ValueError:
                raise ValueError(accepted) from None
        if isinstance(raw, bool) or not isinstance(raw, int) or not minimum <= raw <= maximum:
            raise ValueError(accepted)
        return raw

    return parse


def number(minimum: float, maximum: float, *, exclusive: bool = False) -> Parser:
    """A finite number in [minimum, maximum] (or (minimum, maximum] when ``exclusive``)."""
    low = f"above {_shown(minimum)} and at most" if exclusive else f"from {_shown(minimum)} to"
    accepted = f"a number {low} {_shown(maximum)}"

    def parse(raw: Any, text: bool) -> float:
        if text:
            try:
                raw = float(str(raw).strip().replace("_", ""))
            except ValueError:
                raise ValueError(accepted) from None
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise ValueError(accepted)
        # NaN fails every comparison, so it fails here too.
        if not (minimum < raw if exclusive else minimum <= raw) or not raw <= maximum:
            raise ValueError(accepted)
        return float(raw)

    return parse


def choice(values: tuple[str, ...], *, upper: bool = False) -> Parser:
    """One of ``values``, case-insensitive; returned as spelled in ``values``."""
    by_folded = {v.casefold(): v for v in values}
    shown = ", ".join(values) if upper else ", ".join(repr(v) for v in values)

    def parse(raw: Any, text: bool) -> str:
        if not isinstance(raw, str) or raw.strip().casefold() not in by_folded:
            raise ValueError(f"one of {shown}")
        return by_folded[raw.strip().casefold()]

    return parse


def text(raw: Any, is_text: bool) -> str:
    """Any string, surrounding white space removed."""
    if not isinstance(raw, str):
        raise ValueError("a string")
    return raw.strip()


_TOPIC_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def topic(raw: Any, is_text: bool) -> str:
    """A legal Kafka topic name; the file sink makes it a file name, so it can never be a path."""
    accepted = "a topic name of 1 to 249 letters, digits, '.', '_' or '-' (not '.' or '..')"
    if not isinstance(raw, str):
        raise ValueError(accepted)
    name = raw.strip()
    if not 1 <= len(name) <= 249 or not set(name) <= _TOPIC_CHARS or name in (".", ".."):
        raise ValueError(accepted)
    return name


def boolean(raw: Any, is_text: bool) -> bool:
    """true or false; as a flag given alone, true."""
    if isinstance(raw, bool):
        return raw
    if is_text and str(raw).strip().lower() in ("true", "false"):
        return str(raw).strip().lower() == "true"
    raise ValueError("true or false")


def rate(raw: Any, is_text: bool) -> float:
    """0 (as fast as the workers allow) or a rate that brings a payment at least every 1,000 s."""
    accepted = "0 (as fast as the workers allow) or a number from 0.001 to 1_000_000"
    try:
        value: float = number(0, 1_000_000)(raw, is_text)
    except ValueError:
        raise ValueError(accepted) from None
    if 0 < value < 0.001:
        # A slower rate leaves a batch run doing nothing but bank updates for years of event time.
        raise ValueError(accepted)
    return value


def curve(raw: Any, is_text: bool) -> tuple[float, ...]:
    """24 multipliers of the rate, one per hour of day (not all 0), or empty for a flat rate."""
    accepted = "24 numbers from 0 to 1_000 (one per hour of day, not all 0), or empty for a flat rate"
    if is_text:
        raw = str(raw).replace(",", " ").split()
    if not isinstance(raw, (list, tuple)):
        raise ValueError(accepted)
    if not raw:
        return ()
    try:
        multipliers = tuple(number(0, 1_000)(value, is_text) for value in raw)
    except ValueError:
        raise ValueError(accepted) from None
    if len(multipliers) != 24 or not any(multipliers):
        raise ValueError(accepted)
    return multipliers


def seed(raw: Any, is_text: bool) -> int | None:
    """Empty for a random seed, else a whole number."""
    if raw == "" or raw is None:
        return None
    # The shipped config.toml shows ``seed = ""``, so ``seed = "42"`` must work too.
    try:
        parsed: int = whole(0, 2**63 - 1)(raw, is_text or isinstance(raw, str))
    except ValueError as exc:
        raise ValueError(f"{exc}, or empty for a random seed") from None
    return parsed


def start(raw: Any, is_text: bool) -> int | None:
    """An ISO 8601 time as epoch ms (UTC when no zone is given), or None for "now"."""
    accepted = "an ISO 8601 time from 1970 to 9999 such as 2026-01-31T09:00:00Z, or empty for now"
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, str):
        if not raw.strip():
            return None
        try:
            moment = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise ValueError(accepted) from None
    else:
        raise ValueError(accepted)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        ms = int(moment.timestamp() * 1000)
    except (OverflowError, ValueError):  # a zone offset can push year 1 or 9999 out of range
        raise ValueError(accepted) from None
    if ms < 0:
        raise ValueError(accepted)
    return ms


def security_protocol(raw: Any, is_text: bool) -> str:
    """A Kafka security protocol, or empty for automatic."""
    accepted = ("", "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
    if not isinstance(raw, str) or raw.strip().upper() not in accepted:
        raise ValueError("one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL (or empty for automatic)")
    return raw.strip().upper()


def port(raw: Any, is_text: bool) -> int:
    """A TCP port, or 0 for off."""
    try:
        value: int = whole(0, 65535)(raw, is_text)
    except ValueError:
        raise ValueError("a TCP port from 1 to 65535, or 0 for off") from None
    return value


def replication(raw: Any, is_text: bool) -> int:
    """A replication factor, or -1 for the broker's default."""
    accepted = "-1 (the broker's default) or a whole number from 1 to 32"
    try:
        value: int = whole(-1, 32)(raw, is_text)
    except ValueError:
        raise ValueError(accepted) from None
    if value == 0:
        raise ValueError(accepted)
    return value


def http_url(raw: Any, is_text: bool) -> str:
    """An http:// or https:// URL with a host."""
    accepted = "an http:// or https:// URL such as http://localhost:8081"
    if not isinstance(raw, str):
        raise ValueError(accepted)
    try:
        parts = urlsplit(raw.strip())
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number or out of range
    except ValueError:
        raise ValueError(accepted) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(accepted)
    return raw.strip()
