"""Property: whatever profile it is given, fit never writes a configuration ``synthpay validate`` refuses."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthpay.calibrate import fit_report, fitted_toml
from synthpay.calibrate.fit import fit
from synthpay.calibrate.profile import Anomalies, Arrivals, Bin, Path, Profile, Sample

_BIN_MS = 60_000
_FIRST_MS = 1_780_000_000_000

_names = st.one_of(
    st.sampled_from(["Initiated", "Validated", "Accounted", "Completed", "Failed", "Rejected", "Canceled"]),
    st.sampled_from(["initiated", "FAILED", "Done", "done", "a" * 241, "é"]),
    st.text(min_size=1, max_size=12),
    st.text(alphabet="abcXYZ_-. ", min_size=1, max_size=300),
)
_ms = st.one_of(
    st.floats(min_value=0, max_value=1e12, allow_nan=False),
    st.sampled_from([0.0, 1.0, 1e-9, 86_400_000.0, 1e11]),
)


def _sample(draw: st.DrawFn, starts: tuple[int, int]) -> Sample:
    values = draw(st.lists(_ms, min_size=0, max_size=30))
    seen = draw(st.integers(min_value=len(values), max_value=len(values) * 1000 + 1))
    stamps = draw(st.lists(st.integers(*starts), min_size=len(values), max_size=len(values)))
    return Sample(seen, tuple(values), tuple(stamps))


@st.composite
def profiles(draw: st.DrawFn) -> Profile:
    names = draw(st.lists(_names, min_size=1, max_size=6, unique=True))
    paths: dict[Path, int] = {}
    for _ in range(draw(st.integers(1, 8))):
        path = tuple(draw(st.lists(st.sampled_from(names), min_size=1, max_size=5, unique=True)))
        paths[path] = draw(st.integers(1, 10**7))
    span_ms = draw(st.integers(0, 40 * 86_400_000))
    window = (_FIRST_MS, _FIRST_MS + span_ms)
    gaps = {(path, k): _sample(draw, window) for path in paths for k in range(1, len(path))}
    offsets = {(path, k): _sample(draw, window) for path in paths for k in range(1, len(path))}
    bins: dict[int, Bin] = {}
    for index in draw(st.lists(st.integers(window[0] // _BIN_MS, window[1] // _BIN_MS), max_size=10, unique=True)):
        counted = {path: draw(st.integers(0, 1000)) for path in paths}
        moments = {
            name: (draw(st.integers(0, 100)), draw(st.floats(0, 1e3)), draw(st.floats(0, 1e5))) for name in names
        }
        bins[index] = Bin(counted, moments)
    gap_count = draw(st.integers(0, 10**7))
    per_hour = {h: draw(st.integers(0, 10**6)) for h in range(window[0] // 3_600_000, window[1] // 3_600_000 + 1)}
    banks = draw(st.lists(st.integers(1, 10**6), max_size=50))
    late = _sample(draw, window)
    events = sum(len(p) * n for p, n in paths.items())
    return Profile(
        sources=("x",),
        events=events,
        payments=sum(paths.values()),
        open_at_end=0,
        first_ms=window[0],
        last_ms=window[1],
        record_timestamps=draw(st.booleans()),
        paths=paths,
        gaps=gaps,
        offsets=offsets,
        bin_ms=_BIN_MS,
        bins=bins,
        arrivals=Arrivals(gap_count, draw(st.floats(0, 1e9)), draw(st.floats(0, 1e18)), per_hour),
        sources_seen={f"s{i}": n for i, n in enumerate(banks)},
        destinations_seen={f"d{i}": n for i, n in enumerate(reversed(banks))},
        amounts=None,
        currencies={},
        anomalies=Anomalies(
            events=events + draw(st.integers(0, 10**6)),
            duplicates=draw(st.integers(0, 10**6)),
            late=late,
            out_of_order=draw(st.integers(0, 10**6)),
        ),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(profiles())
def test_fit_never_writes_a_config_validate_refuses(profile: Profile) -> None:
    fitted = fit(profile)
    text = fitted_toml.render(fitted)
    settings = fitted_toml.load(text)  # ConfigError fails the test
    assert len(settings.workflows) == len(fitted.workflows)
    assert math.isfinite(settings.run.rate)
    fit_report.to_json(fitted)  # and the report is JSON (no NaN or infinity)
