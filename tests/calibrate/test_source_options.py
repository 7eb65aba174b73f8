"""Times as CSV and JSON lines write them: epoch ms, epoch s, ISO 8601."""

from __future__ import annotations

import pytest

from synthpay.calibrate.source_options import NotATime, TimeUnit, parse_time

MS = 1_769_850_000_000  # 2026-01-31T09:00:00Z


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (MS, MS),
        (str(MS), MS),
        (MS // 1000, MS),
        (str(MS // 1000), MS),
        ("1769850000.25", MS + 250),
        (1769850000.25, MS + 250),
        ("2026-01-31T09:00:00Z", MS),
        ("2026-01-31T10:00:00.5+01:00", MS + 500),
        (" 2026-01-31T09:00:00.123456Z ", MS + 123),
    ],
)
def test_auto_reads_each_way_of_writing_a_time(value: object, expected: int) -> None:
    assert parse_time(value, TimeUnit.AUTO) == expected


def test_auto_takes_integers_above_1e11_as_ms() -> None:
    assert (parse_time(10**11, TimeUnit.AUTO), parse_time(10**11 + 1, TimeUnit.AUTO)) == (10**14, 10**11 + 1)


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [(1000, TimeUnit.MS, 1000), (1000, TimeUnit.S, 1_000_000), ("1970-01-01T00:00:01Z", TimeUnit.ISO, 1000)],
)
def test_an_explicit_unit(value: object, unit: TimeUnit, expected: int) -> None:
    assert parse_time(value, unit) == expected


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        ("31/01/2026", TimeUnit.AUTO),
        ("", TimeUnit.AUTO),
        (None, TimeUnit.AUTO),
        (True, TimeUnit.AUTO),
        ("nan", TimeUnit.AUTO),
        ([1], TimeUnit.AUTO),
        ("2026-01-31T09:00:00", TimeUnit.AUTO),
        (MS, TimeUnit.ISO),
        ("2026-01-31T09:00:00Z", TimeUnit.S),
    ],
)
def test_what_is_no_time(value: object, unit: TimeUnit) -> None:
    with pytest.raises(NotATime):
        parse_time(value, unit)
