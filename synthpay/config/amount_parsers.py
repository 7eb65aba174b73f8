"""The parsers of ``[amounts]``: a distribution of amounts and a currency mix, as TOML tables or as text.

As text (environment, flags) either is the TOML inline table itself, or its pairs:
``lognormal median=42.5 p99=2400`` and ``EUR=60,USD=30,GBP=10``.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping

from synthpay.config import parsers
from synthpay.model import delays
from synthpay.model.amounts import CurrencyMix
from synthpay.model.delays import Delay

#: Accepted range of an amount distribution's parameters (currency units) and of a currency's weight.
AMOUNT_PARAMETER = parsers.number(0, 100_000_000)
CURRENCY_WEIGHT = parsers.number(0, 1_000_000_000)
_CODE = re.compile(r"[A-Z]{3}")


def _table(raw: object, is_text: bool, bare: str | None = None) -> dict[str, object]:
    """``raw`` as a table: a TOML one, or text: an inline table, or ``name=value`` pairs
    (separated by commas or white space; a pair without ``=`` is the value of ``bare``)."""
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str):
        raise ValueError
    text = raw.strip()
    if text.startswith("{"):
        try:
            document = tomllib.loads(f"value = {text}")
        except (tomllib.TOMLDecodeError, RecursionError):  # a value nested thousands deep too
            raise ValueError from None
        parsed = document.pop("value")
        if document or not isinstance(parsed, dict):  # one inline table, nothing after it
            raise ValueError
        table: dict[str, object] = parsed
        return table
    pairs: dict[str, object] = {}
    for item in re.split(r"[,\s]+", text):
        if not item:
            continue
        name, equals, value = item.partition("=")
        if not equals:
            if bare is None or bare in pairs:
                raise ValueError
            name, value = bare, item
        if name in pairs:
            raise ValueError
        pairs[name.strip()] = value.strip()
    return pairs


def _write_distribution(distribution: Delay | None) -> object:
    if distribution is None:
        return ""
    shown = distribution.describe(delays.PLAIN_PARAMETERS)
    return {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in shown.items()}


@parsers.accepting(
    "empty for the original's uniform 0.10 to 99998.99, or a table such as "
    '{ dist = "lognormal", median = 42.5, p99 = 2400 }: dist fixed (value), uniform (min <= max), '
    "exponential (mean > 0), lognormal (median >= 0.001, p99 > median) or normal (mean, stddev > 0; cut at 0), "
    'each a number from 0 to 100_000_000 (as text also "lognormal median=42.5 p99=2400")',
    _write_distribution,
)
def distribution(raw: object, is_text: bool) -> Delay | None:
    """An amount distribution in currency units, or None for the original's uniform range."""
    if isinstance(raw, str) and not raw.strip():
        return None
    spec = _table(raw, is_text, bare="dist")
    dist = spec.get("dist")
    if not isinstance(dist, str) or dist not in delays.PLAIN_PARAMETERS:
        raise ValueError
    names = delays.PLAIN_PARAMETERS[dist]
    if set(spec) != {"dist", *names}:
        raise ValueError
    # A text pair is text; a TOML number is a number (a TOML string stays refused).
    values = {name: AMOUNT_PARAMETER(spec[name], is_text and isinstance(spec[name], str)) for name in names}
    if delays.check(dist, values, delays.PLAIN_PARAMETERS):
        raise ValueError
    return Delay(dist, tuple(values[name] for name in names))


def _write_currencies(mix: CurrencyMix) -> object:
    return {code: int(w) if w.is_integer() else w for code, w in mix.weights}


@parsers.accepting(
    "a table of ISO 4217 codes (3 capital letters) and weights from 0 to 1_000_000_000, not all 0, "
    "such as { EUR = 60, USD = 30, GBP = 10 } (as text also EUR=60,USD=30,GBP=10); empty = uniform over every code",
    _write_currencies,
)
def currencies(raw: object, is_text: bool) -> CurrencyMix:
    """A currency mix: each ISO 4217 code's weight, in the order given."""
    if isinstance(raw, str) and not raw.strip():
        return CurrencyMix()
    table: Mapping[str, object] = _table(raw, is_text)
    weights: list[tuple[str, float]] = []
    for code, weight in table.items():
        if not _CODE.fullmatch(code):
            raise ValueError
        weights.append((code, CURRENCY_WEIGHT(weight, is_text and isinstance(weight, str))))
    if weights and not math.fsum(w for _, w in weights):
        raise ValueError
    return CurrencyMix(tuple(weights))
