"""A delay distribution that configuration accepts always builds its table of drawable delays."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from synthpay.model import delays

#: Any parameter the configuration takes (DELAY_PARAMETER_MS), subnormal floats included.
_MS = st.floats(min_value=0, max_value=86_400_000, allow_nan=False)


@given(dist=st.sampled_from(sorted(delays.PARAMETERS)), a=_MS, b=_MS)
def test_an_accepted_distribution_builds_a_table_within_a_64_bit_time(dist: str, a: float, b: float) -> None:
    names = delays.PARAMETERS[dist]
    params = (a, b)[: len(names)]
    assume(not delays.check(dist, dict(zip(names, params, strict=True))))  # else refused at validation
    table = delays.Delay(dist, params).table()
    assert 0 <= min(table.ms) <= max(table.ms) < 2**63


def test_a_lognormal_median_below_a_microsecond_is_refused() -> None:
    assert delays.check("lognormal", {"median_ms": 1e-300, "p99_ms": 86_400_000}) == "median_ms >= 0.001"
