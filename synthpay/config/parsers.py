"""How one setting's value is read and checked.

A parser declares what it accepts, in the words the loader puts after "expected" in the
one-line error and the settings table (docs/reference/configuration.md) shows, and reads the raw value given
whether it came as text (environment, ``.env``, flags) or typed (TOML). Every number has
an upper bound as well as a lower one, so no value can make a run spin, flood or hang.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, get_args
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from typing_extensions import TypeForm

T = TypeVar("T")
#: A parser of ints is a parser of objects: what it yields only ever narrows.
T_co = TypeVar("T_co", covariant=True)
L = TypeVar("L", bound=str)


@dataclass(frozen=True, slots=True)
class Parser(Generic[T_co]):
    """What a setting accepts, and how its raw value is read.

    ``read`` raises ``ValueError`` for any value it rejects; calling the parser turns that
    into one whose message is ``accepted``, so the error can never say something else.
    ``masked`` parsers read credentials: an error shows ``'***'`` instead of the value.
    ``write`` turns a value read back into what config.toml would say (``synthpay validate``
    prints that); most values are written as they are read.
    """

    accepted: str
    read: Callable[[object, bool], T_co]
    masked: bool = False
    # Any: a parser of ints is a parser of objects, and its write takes what it read.
    write: Callable[[Any], object] = field(default=lambda value: value)

    def __call__(self, raw: object, text: bool) -> T_co:
        try:
            return self.read(raw, text)
        except ValueError:
            raise ValueError(self.accepted) from None


def accepting(
    accepted: str, write: Callable[[Any], object] | None = None
) -> Callable[[Callable[[object, bool], T]], Parser[T]]:
    """Declare the decorated read function a parser of values ``accepted`` describes (written
    back by ``write``, if not as read)."""
    return lambda read: Parser(accepted, read) if write is None else Parser(accepted, read, write=write)


def _shown(n: float) -> str:
    """A bound as the user could type it back (TOML and the text parsers accept ``_``)."""
    return f"{int(n):_}" if n == int(n) else f"{n:g}"


def literal_values(kind: TypeForm[L]) -> tuple[L, ...]:
    """The strings a ``Literal`` type admits, in the order it lists them."""
    # get_args is untyped; the Literal's own arguments are exactly its values.
    return cast("tuple[L, ...]", get_args(kind))


def whole(minimum: int, maximum: int) -> Parser[int]:
    """A whole number in [minimum, maximum]."""

    def read(raw: object, text: bool) -> int:
        if text:
            raw = int(str(raw).strip().replace("_", ""))
        if isinstance(raw, bool) or not isinstance(raw, int) or not minimum <= raw <= maximum:
            raise ValueError
        return raw

    return Parser(f"a whole number from {_shown(minimum)} to {_shown(maximum)}", read)


def number(minimum: float, maximum: float, *, exclusive: bool = False) -> Parser[float]:
    """A finite number in [minimum, maximum] (or (minimum, maximum] when ``exclusive``)."""
    low = f"above {_shown(minimum)} and at most" if exclusive else f"from {_shown(minimum)} to"

    def read(raw: object, text: bool) -> float:
        if text:
            raw = float(str(raw).strip().replace("_", ""))
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise ValueError
        # NaN fails every comparison, so it fails here too.
        if not (minimum < raw if exclusive else minimum <= raw) or not raw <= maximum:
            raise ValueError
        return float(raw)

    return Parser(f"a number {low} {_shown(maximum)}", read)


def choice(kind: TypeForm[L], *, upper: bool = False) -> Parser[L]:
    """One of the values of the ``Literal`` type ``kind``, case-insensitive; returned as spelled there."""
    values = literal_values(kind)
    by_folded = {v.casefold(): v for v in values}
    shown = ", ".join(values) if upper else ", ".join(repr(v) for v in values)

    def read(raw: object, text: bool) -> L:
        if not isinstance(raw, str) or raw.strip().casefold() not in by_folded:
            raise ValueError
        return by_folded[raw.strip().casefold()]

    return Parser(f"one of {shown}", read)


@accepting("a string")
def text(raw: object, is_text: bool) -> str:
    """Any string, surrounding white space removed."""
    if not isinstance(raw, str):
        raise ValueError
    return raw.strip()


def text_of_at_most(max_bytes: int) -> Parser[str]:
    """A string, surrounding white space removed, of at most ``max_bytes`` bytes in UTF-8."""

    def read(raw: object, is_text: bool) -> str:
        value = text.read(raw, is_text)
        if len(value.encode()) > max_bytes:
            raise ValueError
        return value

    return Parser(f"a string of at most {_shown(max_bytes)} bytes", read)


@dataclass(frozen=True, slots=True)
class Secret:
    """A credential: prints as ``***`` everywhere so it never reaches a log or an error."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "'***'" if self.value else "''"

    def __str__(self) -> str:
        return "***" if self.value else ""

    def __bool__(self) -> bool:
        return bool(self.value)


def _secret(raw: object, is_text: bool) -> Secret:
    return Secret(text.read(raw, is_text))


#: Any string, surrounding white space removed, kept as a :class:`Secret`.
secret = Parser(text.accepted, _secret, masked=True, write=str)


#: Kafka's longest topic name.
TOPIC_MAX = 249
_TOPIC_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


@accepting("a topic name of 1 to 249 letters, digits, '.', '_' or '-' (not '.' or '..')")
def topic(raw: object, is_text: bool) -> str:
    """A legal Kafka topic name; the file sink makes it a file name, so it can never be a path."""
    if not isinstance(raw, str):
        raise ValueError
    name = raw.strip()
    if not 1 <= len(name) <= TOPIC_MAX or not set(name) <= _TOPIC_CHARS or name in (".", ".."):
        raise ValueError
    return name


@accepting("empty, or letters, digits, '.', '_' or '-' that leave every topic name within 249 characters")
def topic_prefix(raw: object, is_text: bool) -> str:
    """What may go before a legal topic name and leave it legal, length aside (the rules check that)."""
    if not isinstance(raw, str):
        raise ValueError
    prefix = raw.strip()
    if len(prefix) >= TOPIC_MAX or not set(prefix) <= _TOPIC_CHARS:
        raise ValueError
    return prefix


@accepting("true or false")
def boolean(raw: object, is_text: bool) -> bool:
    """true or false; as a flag given alone, true."""
    if isinstance(raw, bool):
        return raw
    if is_text and str(raw).strip().lower() in ("true", "false"):
        return str(raw).strip().lower() == "true"
    raise ValueError


_ANY_RATE = number(0, 1_000_000)


@accepting("0 (as fast as the workers allow) or a number from 0.001 to 1_000_000")
def rate(raw: object, is_text: bool) -> float:
    """0 (as fast as the workers allow) or a rate that brings a payment at least every 1,000 s."""
    value = _ANY_RATE(raw, is_text)
    if 0 < value < 0.001:
        # A slower rate leaves a batch run doing nothing but bank updates for years of event time.
        raise ValueError
    return value


_MULTIPLIER = number(0, 1_000)


@accepting("24 numbers from 0 to 1_000 (one per hour of day, not all 0), or empty for a flat rate", list)
def curve(raw: object, is_text: bool) -> tuple[float, ...]:
    """24 multipliers of the rate, one per hour of day (not all 0), or empty for a flat rate."""
    if is_text:
        raw = str(raw).replace(",", " ").split()
    if not isinstance(raw, (list, tuple)):
        raise ValueError
    given: Sequence[object] = raw
    if not given:
        return ()
    multipliers = tuple(_MULTIPLIER(value, is_text) for value in given)
    if len(multipliers) != 24 or not any(multipliers):
        raise ValueError
    return multipliers


_SEED = whole(0, 2**63 - 1)


@accepting(f"{_SEED.accepted}, or empty for a random seed", lambda seed: "" if seed is None else seed)
def seed(raw: object, is_text: bool) -> int | None:
    """Empty for a random seed, else a whole number."""
    if raw == "" or raw is None:
        return None
    # The shipped config.toml shows ``seed = ""``, so ``seed = "42"`` must work too.
    return _SEED(raw, is_text or isinstance(raw, str))


def _iso(ms: int | None) -> str:
    """Epoch ms as the ISO time that reads back to it (UTC, ms only when there are any)."""
    if ms is None:
        return ""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds" if ms % 1000 else "seconds").replace("+00:00", "Z")


@accepting("an ISO 8601 time from 1970 to 9999 such as 2026-01-31T09:00:00Z, or empty for now", _iso)
def start(raw: object, is_text: bool) -> int | None:
    """An ISO 8601 time as epoch ms (UTC when no zone is given), or None for "now"."""
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, str):
        if not raw.strip():
            return None
        moment = datetime.fromisoformat(raw.strip())
    else:
        raise ValueError
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        ms = int(moment.timestamp() * 1000)
    except OverflowError:  # a zone offset can push year 1 or 9999 out of range
        raise ValueError from None
    if ms < 0:
        raise ValueError
    return ms


_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3_600.0, "d": 86_400.0, "w": 604_800.0}
#: A backfill of more than a year is more history than any retention keeps by default.
_MAX_DURATION_S = 31_536_000.0


def _duration_written(seconds: float) -> str | float:
    """Seconds as the duration that reads back to them: ``1h30m``; empty for none; a
    number of seconds when whole milliseconds do not say it exactly."""
    ms = round(seconds * 1000)
    if ms / 1000 != seconds:
        return seconds
    parts = []
    for unit in ("d", "h", "m", "s", "ms"):
        size = round(_UNIT_S[unit] * 1000)
        if ms >= size:
            parts.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(parts)


@accepting(
    "a duration such as 90m, 6h, 7d, 1h30m or 45 (seconds), at most 365d; 0 or empty for none", _duration_written
)
def duration(raw: object, is_text: bool) -> float:
    """A span of time in seconds: a number (seconds) or amounts with units ms, s, m, h, d, w."""
    if isinstance(raw, bool):
        raise ValueError
    if isinstance(raw, (int, float)):
        seconds = float(raw)
    elif isinstance(raw, str):
        seconds = _duration_text(raw.strip().replace("_", "").lower())
    else:
        raise ValueError
    if not 0 <= seconds <= _MAX_DURATION_S:  # NaN fails too
        raise ValueError
    return seconds


def _duration_text(text: str) -> float:
    """Seconds in ``text``: empty, a bare number, or amount-unit pairs such as ``1h30m``."""
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        pass
    total, number_text, rest = 0.0, "", text
    while rest:
        if rest[0].isdigit() or rest[0] == ".":
            number_text, rest = number_text + rest[0], rest[1:]
            continue
        unit = "ms" if rest.startswith("ms") else rest[0]
        if not number_text or unit not in _UNIT_S:
            raise ValueError
        total += float(number_text) * _UNIT_S[unit]
        number_text, rest = "", rest[len(unit) :]
    if number_text:  # a trailing number without its unit
        raise ValueError
    return total


_PROTOCOLS = ("", "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")


@accepting("one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL (or empty for automatic)")
def security_protocol(raw: object, is_text: bool) -> str:
    """A Kafka security protocol, or empty for automatic."""
    if not isinstance(raw, str) or raw.strip().upper() not in _PROTOCOLS:
        raise ValueError
    return raw.strip().upper()


port = Parser("a TCP port from 1 to 65535, or 0 for off", whole(0, 65535).read)

_ANY_REPLICATION = whole(-1, 32)


@accepting("-1 (the broker's default) or a whole number from 1 to 32")
def replication(raw: object, is_text: bool) -> int:
    """A replication factor, or -1 for the broker's default."""
    value = _ANY_REPLICATION(raw, is_text)
    if value == 0:
        raise ValueError
    return value


@accepting("an http:// or https:// URL such as http://localhost:8081")
def http_url(raw: object, is_text: bool) -> str:
    """An http:// or https:// URL with a host."""
    if not isinstance(raw, str):
        raise ValueError
    parts = urlsplit(raw.strip())
    parts.port  # noqa: B018 - raises ValueError on a port that is not a number or out of range
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError
    return raw.strip()
