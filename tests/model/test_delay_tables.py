"""A delay distribution that configuration accepts always builds its table of drawable delays."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from synthpay.model import delays

#: Any positive parameter the configuration takes (DELAY_PARAMETER_MS), subnormal floats included.
_MS = st.floats(min_value=5e-324, max_value=86_400_000, allow_nan=False)


@given(median=_MS, p99=_MS)
def test_an_accepted_lognormal_builds_a_table_within_a_64_bit_time(median: float, p99: float) -> None:
    assume(not delays.check("lognormal", {"median_ms": median, "p99_ms": p99}))  # else refused at validation
    table = delays.Delay("lognormal", (median, p99)).table()
    assert 0 <= min(table.ms) <= max(table.ms) < 2**63


def test_a_tail_too_wide_for_any_time_is_refused() -> None:
    assert delays.check("lognormal", {"median_ms": 1e-300, "p99_ms": 86_400_000}) == (
        "p99_ms at most 1.37444e-107 with median_ms = 1e-300 (a wider tail draws delays beyond 2^63 ms)"
    )
