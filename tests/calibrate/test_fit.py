"""What ``fit`` decides, one decision per test, on profiles made by hand."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence

import pytest
from calibrate.hand_profiles import (
    ORIGINAL,
    REALISTIC,
    START_MS,
    Draw,
    Extra,
    Paid,
    Phase,
    exponential,
    generate,
    lognormal,
    normal,
    profile_of,
    uniform,
)

from synthpay.calibrate import fitted_toml
from synthpay.calibrate.fit import Capabilities, Fitted, fit
from synthpay.calibrate.profile import Path
from synthpay.model.delays import Delay
from synthpay.model.entities import CURRENCIES, uniform_amount


def _weights(fitted: Fitted) -> dict[tuple[str, ...], float]:
    total = sum(wf.weight for wf in fitted.workflows)
    return {wf.steps: wf.weight / total for wf in fitted.workflows}


def _status(fitted: Fitted, name: str) -> Delay:
    return next(s.delay.delay for s in fitted.statuses if s.name == name)


def test_every_observed_path_is_a_workflow_weighted_by_its_payments() -> None:
    fitted = fit(profile_of(generate(ORIGINAL, REALISTIC, n=20_000)))
    weights = _weights(fitted)
    assert set(weights) == {steps for steps, _ in ORIGINAL}
    for steps, weight in ORIGINAL:
        assert weights[steps] == pytest.approx(weight / 18, abs=0.01)


def test_paths_with_a_step_missing_are_the_missing_anomaly_not_workflows() -> None:
    fitted = fit(profile_of(generate(ORIGINAL, REALISTIC, n=40_000, missing=0.03)))
    assert {wf.steps for wf in fitted.workflows} == {steps for steps, _ in ORIGINAL}
    assert fitted.variants
    assert fitted.anomalies.missing == pytest.approx(0.03, rel=0.15)


def test_the_weights_are_corrected_for_missing_steps_and_for_variants_that_look_like_workflows() -> None:
    # Initiated>Failed is also Initiated>Validated>Failed with Validated missing.
    fitted = fit(profile_of(generate(ORIGINAL, REALISTIC, n=40_000, missing=0.05)))
    weights = _weights(fitted)
    for steps, weight in ORIGINAL:
        assert weights[steps] == pytest.approx(weight / 18, abs=0.01)


def test_without_variants_nothing_is_missing_and_a_rare_subpath_is_a_workflow() -> None:
    flows = ((("Initiated", "Validated", "Completed"), 50), (("Initiated", "Completed"), 1))
    fitted = fit(profile_of(generate(flows, REALISTIC, n=30_000)))
    assert fitted.anomalies.missing == 0.0
    assert {wf.steps for wf in fitted.workflows} == {steps for steps, _ in flows}


def test_the_first_steps_delay_is_fixed_0_and_said_to_be_unobservable() -> None:
    fitted = fit(profile_of(generate(ORIGINAL, REALISTIC, n=2_000)))
    first = next(s for s in fitted.statuses if s.name == "Initiated")
    assert first.delay.delay == Delay("fixed", (0.0,))
    assert "unobservable" in first.delay.note


@pytest.mark.parametrize(
    ("draw", "family"),
    [
        (lognormal(400, 0.8), "lognormal"),
        (exponential(800), "exponential"),
        (normal(3000, 300), "normal"),
        (uniform(200, 1200), "uniform"),
    ],
)
def test_each_status_gets_the_family_with_the_least_ks(draw: Draw, family: str) -> None:
    flows = ((("Initiated", "Completed"), 1),)
    fitted = fit(profile_of(generate(flows, {"Completed": draw}, n=5_000)))
    chosen = next(s for s in fitted.statuses if s.name == "Completed").delay
    assert chosen.delay.dist == family
    assert [s.ks for s in chosen.scores] == sorted(s.ks for s in chosen.scores)
    assert {s.delay.dist for s in chosen.scores} >= {"uniform", "exponential", "lognormal", "normal"}


def test_statuses_in_order_are_sequential_and_fitted_on_the_gaps() -> None:
    fitted = fit(profile_of(generate(ORIGINAL, REALISTIC, n=10_000)))
    assert fitted.timing.timing == "sequential"
    validated = _status(fitted, "Validated")
    assert validated.dist == "lognormal"
    assert validated.params[0] == pytest.approx(400, rel=0.05)


def test_statuses_whose_order_varies_are_parallel_and_fitted_on_the_offsets() -> None:
    delays = {"Validated": normal(1000, 300), "Accounted": normal(1200, 300), "Completed": normal(3000, 200)}
    flows = ((("Initiated", "Validated", "Accounted", "Completed"), 1),)
    fitted = fit(profile_of(generate(flows, delays, n=10_000, timing="parallel")))
    assert fitted.timing.timing == "parallel"
    assert len(fitted.workflows) == 1
    assert fitted.workflows[0].steps == ("Initiated", "Validated", "Accounted", "Completed")
    accounted = _status(fitted, "Accounted")
    assert accounted.dist == "normal"
    assert accounted.params[0] == pytest.approx(1200, rel=0.03)


def _before_the_first_step(n: int = 20_000) -> Fitted:
    """Parallel: Initiated at a fixed 100 ms, Failed exponential (a few come before Initiated), Validated uniform."""
    rng = random.Random(3)
    payments = []
    for i in range(n):
        steps = ("Initiated", "Validated", "Failed")
        delays = (100.0, rng.uniform(200, 1500), rng.expovariate(1 / 3000))
        order = sorted(range(3), key=lambda k: delays[k])
        start = START_MS + 100 * i  # the payment's start: no event marks it
        times = tuple(start + round(delays[k]) for k in order)
        payments.append(Paid(times[0], tuple(steps[k] for k in order), times))
    return fit(profile_of(payments))


def test_parallel_delays_count_from_the_workflow_s_first_step_not_the_first_event() -> None:
    fitted = _before_the_first_step()
    assert fitted.timing.timing == "parallel"
    validated = _status(fitted, "Validated")
    assert validated.dist == "uniform"
    assert validated.params == pytest.approx((200, 1500), abs=10)


def test_in_parallel_timing_the_first_step_waits_as_long_as_a_status_came_before_it() -> None:
    assert _status(_before_the_first_step(), "Initiated").params[0] == pytest.approx(100, abs=5)


def test_a_status_whose_delay_depends_on_the_workflow_gets_per_workflow_delays() -> None:
    flows = ((("Initiated", "Failed"), 1), (("Initiated", "Validated", "Failed"), 1))
    per_workflow: dict[tuple[Path, str], Draw] = {(("Initiated", "Failed"), "Failed"): exponential(100.0)}
    delays = {"Validated": lognormal(400, 0.5), "Failed": exponential(3000)}
    profile = profile_of(generate(flows, delays, n=10_000, per_workflow=per_workflow))
    fitted = fit(profile, Capabilities(per_workflow_delays=False))
    split = {wf.name: wf.delays for wf in fitted.workflows}
    assert split["Initiated>Failed"]["Failed"].delay.params[0] == pytest.approx(100, rel=0.1)
    assert split["Initiated>Validated>Failed"]["Failed"].delay.params[0] == pytest.approx(3000, rel=0.1)
    assert any("per-workflow delays" in item for item in fitted.not_expressed)
    assert "delays = {" not in fitted_toml.render(fitted)


def test_per_workflow_delays_are_written_when_the_model_has_them() -> None:
    flows = ((("Initiated", "Failed"), 1), (("Initiated", "Validated", "Failed"), 1))
    per_workflow: dict[tuple[Path, str], Draw] = {(("Initiated", "Failed"), "Failed"): exponential(100.0)}
    delays = {"Validated": lognormal(400, 0.5), "Failed": exponential(3000)}
    fitted = fit(profile_of(generate(flows, delays, n=10_000, per_workflow=per_workflow)))
    settings = fitted_toml.load(fitted_toml.render(fitted))
    own = {wf.name: wf.delays for wf in settings.workflows}
    assert own["Initiated>Failed"]["Failed"].dist == "exponential"
    assert own["Initiated>Failed"]["Failed"].params[0] == pytest.approx(100, rel=0.1)
    assert own["Initiated>Validated>Failed"]["Failed"].params[0] == pytest.approx(3000, rel=0.1)
    assert [item for item in fitted.not_expressed if "per-workflow" in item] == []


def test_a_status_first_in_one_workflow_and_later_in_another_is_0_where_it_is_first() -> None:
    flows = ((("Initiated", "Completed"), 1), (("Completed", "Refunded"), 1))
    delays = {"Completed": lognormal(2000, 0.4), "Refunded": lognormal(500, 0.4)}
    fitted = fit(profile_of(generate(flows, delays, n=2_000)))
    settings = fitted_toml.load(fitted_toml.render(fitted))
    own = {wf.name: wf.delays for wf in settings.workflows}
    assert own["Completed>Refunded"]["Completed"].params == (0.0,)
    completed = settings.statuses["Completed"].delay
    assert completed is not None and completed.params[0] == pytest.approx(2000, rel=0.1)


def test_a_status_with_one_delay_everywhere_keeps_one() -> None:
    fitted = fit(profile_of(generate(ORIGINAL, REALISTIC, n=20_000)))
    assert len(fitted.workflows) == len(ORIGINAL)
    assert [wf.name for wf in fitted.workflows if wf.delays] == []


def test_the_rate_is_payments_per_second_and_poisson_gaps_are_poisson() -> None:
    fitted = fit(profile_of(generate(ORIGINAL, REALISTIC, n=10_000, rate=25.0)))
    assert fitted.arrivals.rate == pytest.approx(25.0, rel=0.05)
    assert fitted.arrivals.arrivals == "poisson"
    assert fitted.arrivals.curve == ()


def test_evenly_spaced_starts_are_constant_arrivals() -> None:
    fitted = fit(profile_of(generate(ORIGINAL, REALISTIC, n=5_000, rate=8.0, constant=True)))
    assert fitted.arrivals.arrivals == "constant"
    assert fitted.arrivals.rate == pytest.approx(8.0, rel=0.01)


def test_a_day_of_data_gets_an_hour_of_day_curve() -> None:
    def rate_at(t_ms: int) -> float:
        hour = (t_ms // 3_600_000) % 24
        return 2.0 if 9 <= hour < 17 else 0.5

    payments = generate(ORIGINAL, REALISTIC, n=100_000, rate_at=rate_at, start_ms=START_MS - START_MS % 86_400_000)
    fitted = fit(profile_of(payments))
    curve = fitted.arrivals.curve
    assert len(curve) == 24
    assert curve[12] / curve[3] == pytest.approx(4.0, rel=0.1)
    assert sum(curve) / 24 == pytest.approx(1.0, rel=0.01)


def test_the_rate_times_the_curve_gives_a_busy_hour_outside_incidents_its_payments() -> None:
    # A day, busy 9 to 17; an incident (another mix) over six quiet night hours: the rate
    # the curve multiplies must not be the mean rate of the busy hours left outside it.
    day = START_MS - START_MS % 86_400_000
    night = Phase(day + 3_600_000, day + 7 * 3_600_000, tuple((s, w) for (s, _), w in zip(OUTAGE_FLOWS, OUTAGE_MIX)))
    payments = generate(
        OUTAGE_FLOWS,
        REALISTIC,
        n=round(3600 * (8 * 1.0 + 16 * 0.25)),
        rate_at=lambda t_ms: 1.0 if 9 <= (t_ms // 3_600_000) % 24 < 17 else 0.25,
        start_ms=day,
        phase=night,
    )
    profile = profile_of(payments, Extra(bin_ms=10_000))
    fitted = fit(profile)
    assert fitted.phases != ()
    noon = sum(n for hour, n in profile.arrivals.per_hour.items() if hour % 24 == 12) / 3600
    assert fitted.arrivals.rate * fitted.arrivals.curve[12] == pytest.approx(noon, rel=0.02)


def test_workers_never_limit_the_rate() -> None:
    fitted = fit(profile_of(generate(ORIGINAL, REALISTIC, n=10_000, rate=200.0)))
    arrivals = fitted.arrivals
    assert arrivals.workers >= arrivals.rate * arrivals.lifetime_s
    assert arrivals.lifetime_s > 5.0  # Completed after Accounted after Validated: seconds at p99.9


def test_dirty_data_rates_are_per_event_and_per_payment() -> None:
    payments = generate(ORIGINAL, REALISTIC, n=10_000)
    events = sum(len(p.path) for p in payments)
    profile = profile_of(payments, Extra(duplicates=events // 100, out_of_order=200))
    fitted = fit(profile)
    assert fitted.anomalies.duplicate == pytest.approx(0.01, rel=0.01)
    assert fitted.anomalies.out_of_order == pytest.approx(200 / 10_000, rel=0.01)


def test_the_late_rate_counts_the_lateness_below_the_tolerance_too() -> None:
    rng = random.Random(3)
    payments = generate(ORIGINAL, REALISTIC, n=10_000)
    events = sum(len(p.path) for p in payments)
    lateness = [rng.expovariate(1 / 30_000) for _ in range(events // 20)]  # 5% of events, mean 30 s
    tolerance = 10_000
    counted = [x for x in lateness if x > tolerance]
    fitted = fit(profile_of(payments, Extra(late_ms=counted)))
    assert fitted.anomalies.late == pytest.approx(0.05, rel=0.1)
    assert fitted.anomalies.late_delay is not None
    assert fitted.anomalies.late_delay.params[0] == pytest.approx(30_000, rel=0.1)


def test_the_run_covers_the_datas_span_on_the_virtual_clock_and_replays_its_window_one_uncomment_away() -> None:
    fitted = fit(profile_of(generate(ORIGINAL, REALISTIC, n=5_000, rate=10.0)))
    text = fitted_toml.render(fitted)
    settings = fitted_toml.load(text)
    assert settings.run.clock == "virtual"
    assert settings.run.payments == 0
    assert settings.run.duration_s == pytest.approx(500, rel=0.05)
    assert settings.run.start_ms is None
    replay = fitted_toml.load(text.replace("# start = ", "start = ", 1))
    assert replay.run.start_ms == fitted.first_ms


def test_the_fitted_config_loads_and_says_what_was_fitted() -> None:
    fitted = fit(profile_of(generate(ORIGINAL, REALISTIC, n=5_000)))
    settings = fitted_toml.load(fitted_toml.render(fitted))
    assert [wf.steps for wf in settings.workflows] == [wf.steps for wf in fitted.workflows]
    assert settings.statuses["Validated"].delay == _status(fitted, "Validated")
    assert settings.timing == "sequential"
    assert settings.run.rate == fitted.arrivals.rate


def test_the_toml_is_deterministic() -> None:
    profile = profile_of(generate(ORIGINAL, REALISTIC, n=3_000))
    assert fitted_toml.render(fit(profile)) == fitted_toml.render(fit(profile))


def test_the_toml_comments_say_which_family_won_and_by_how_much() -> None:
    text = fitted_toml.render(fit(profile_of(generate(ORIGINAL, REALISTIC, n=5_000))))
    assert "# lognormal chosen, KS 0.0" in text
    assert "(exponential 0." in text or ", exponential 0." in text


def test_nothing_identifying_leaves_the_input() -> None:
    secrets = ("ACME-BANK-OF-SECRETS", "bank-of-hidden-name", "4711.13", "payment-id-0001", "secret-topic")
    rng = random.Random(9)
    base = generate(ORIGINAL, REALISTIC, n=3_000, banks=lambda r: ("ACME-BANK-OF-SECRETS", "bank-of-hidden-name"))
    payments = [
        Paid(p.start_ms, p.path, p.times_ms, p.source, p.destination, 4711.13 + rng.random(), "EUR") for p in base
    ]
    fitted = fit(profile_of(payments, Extra(sources=("secret-topic", "payment-id-0001.csv"))))
    text = fitted_toml.render(fitted)
    from synthpay.calibrate import fit_report

    outputs = (text, fit_report.to_json(fitted), fit_report.table(fitted))
    assert [secret for out in outputs for secret in secrets if secret in out] == []


def test_a_status_name_the_configuration_refuses_is_made_valid() -> None:
    flows = ((("new", "in-review", "done!"), 1),)
    delays = {"in-review": lognormal(300, 0.5), "done!": lognormal(900, 0.5)}
    fitted = fit(profile_of(generate(flows, delays, n=1_000)))
    settings = fitted_toml.load(fitted_toml.render(fitted))
    assert settings.workflows[0].steps == ("new", "in_review", "done_")


def test_a_profile_without_payments_is_refused() -> None:
    profile = profile_of([Paid(START_MS, ("Initiated",), (START_MS,))])
    empty = type(profile)(**{**{f: getattr(profile, f) for f in profile.__dataclass_fields__}, "payments": 0})
    with pytest.raises(ValueError, match="nothing to fit"):
        fit(empty)


def test_a_single_payment_fits_a_config_that_loads() -> None:
    fitted = fit(profile_of([Paid(START_MS, ("Initiated", "Completed"), (START_MS, START_MS + 1500))]))
    settings = fitted_toml.load(fitted_toml.render(fitted))
    assert math.isclose(settings.run.rate, fitted.arrivals.rate)


def test_amounts_and_the_currency_mix_are_fitted_when_the_input_has_them() -> None:
    rng = random.Random(5)
    base = generate(ORIGINAL, REALISTIC, n=5_000)
    currencies = ["EUR"] * 6 + ["USD"] * 3 + ["GBP"]
    payments = [
        Paid(p.start_ms, p.path, p.times_ms, "", "", round(40 * math.exp(rng.gauss(0, 1)), 2), rng.choice(currencies))
        for p in base
    ]
    fitted = fit(profile_of(payments))
    settings = fitted_toml.load(fitted_toml.render(fitted))
    distribution = settings.amounts.distribution
    assert distribution is not None
    assert distribution.dist == "lognormal"
    assert distribution.params[0] == pytest.approx(40, rel=0.05)
    weights = dict(settings.amounts.currencies.weights)
    assert set(weights) == {"EUR", "USD", "GBP"}
    assert weights["EUR"] / sum(weights.values()) == pytest.approx(0.6, abs=0.03)


def _original_amounts(n: int = 5_000, codes: Sequence[str] = CURRENCIES) -> list[Paid]:
    """Payments with the original model's amounts and currencies (``codes`` drawn equally)."""
    rng = random.Random(6)
    return [
        Paid(p.start_ms, p.path, p.times_ms, "", "", uniform_amount(rng), rng.choice(codes))
        for p in generate(ORIGINAL, REALISTIC, n=n)
    ]


def test_amounts_like_the_original_s_are_written_as_no_distribution() -> None:
    settings = fitted_toml.load(fitted_toml.render(fit(profile_of(_original_amounts()))))
    assert settings.amounts.distribution is None


def test_currencies_drawn_equally_over_every_code_are_written_as_the_original_s_mix() -> None:
    settings = fitted_toml.load(fitted_toml.render(fit(profile_of(_original_amounts()))))
    assert settings.amounts.currencies.weights == ()


def test_currencies_drawn_equally_over_a_few_codes_are_an_explicit_mix() -> None:
    fitted = fit(profile_of(_original_amounts(codes=("EUR", "USD", "GBP"))))
    assert fitted.amounts is not None
    assert set(fitted.amounts.currencies) == {"EUR", "USD", "GBP"}


def _with_currencies(counts: Mapping[str, int]) -> Fitted:
    codes = [code for code, n in counts.items() for _ in range(n)]
    base = generate(ORIGINAL, REALISTIC, n=len(codes))
    return fit(profile_of([Paid(p.start_ms, p.path, p.times_ms, "", "", 10.0, c) for p, c in zip(base, codes)]))


def test_currencies_under_a_thousandth_of_payments_are_left_out_of_the_mix() -> None:
    amounts = _with_currencies({"EUR": 6_000, "USD": 3_995, "JPY": 5})
    assert amounts.amounts is not None
    assert (set(amounts.amounts.currencies), amounts.amounts.rare_payments) == ({"EUR", "USD"}, 5)


def test_a_long_tail_of_rare_currencies_stays_in_the_mix() -> None:
    rare = dict.fromkeys(CURRENCIES[:30], 5)  # 150 payments, 1.5%: a tail the mix must carry
    amounts = _with_currencies({"EUR": 6_000, "USD": 3_850, **rare})
    assert amounts.amounts is not None
    assert len(amounts.amounts.currencies) == 32


def test_currency_codes_that_are_no_iso_code_stay_out_of_the_mix() -> None:
    base = generate(ORIGINAL, REALISTIC, n=500)
    payments = [
        Paid(p.start_ms, p.path, p.times_ms, "", "", 10.0 + i % 7, "EUR" if i % 2 else "customer-42")
        for i, p in enumerate(base)
    ]
    fitted = fit(profile_of(payments))
    assert fitted.amounts is not None
    assert set(fitted.amounts.currencies) == {"EUR"}
    assert "customer-42" not in fitted_toml.render(fitted)


OUTAGE_FLOWS: tuple[tuple[Path, int], ...] = (
    (("Initiated", "Failed"), 1),
    (("Initiated", "Validated", "Failed"), 1),
    (("Initiated", "Validated", "Accounted", "Failed"), 1),
    (("Initiated", "Validated", "Accounted", "Completed"), 17),
)
OUTAGE_MIX = (8, 12, 4, 16)


def _outage(scale: dict[str, float] | None = None, rate_factor: float = 1.0) -> Fitted:
    """45 minutes at 20 payments/s, minutes 15 to 30 with the acquirer-outage scenario's mix."""
    start, end = START_MS + 900_000, START_MS + 1_800_000
    inside = tuple((steps, weight) for (steps, _), weight in zip(OUTAGE_FLOWS, OUTAGE_MIX))
    outage = Phase(start, end, inside, scale or {}, rate_factor)
    n = round(900 * 20 * (2 + rate_factor))
    payments = generate(OUTAGE_FLOWS, REALISTIC, n=n, rate=20.0, phase=outage)
    return fit(profile_of(payments, Extra(bin_ms=10_000)))


def test_an_outage_is_a_phase_with_its_edges_its_mix_and_its_delay_scale() -> None:
    fitted = _outage(scale={"Validated": 5.0})
    assert len(fitted.phases) == 1
    phase = fitted.phases[0]
    assert phase.at_s == pytest.approx(900, abs=60)
    assert phase.at_s + phase.duration_s == pytest.approx(1800, abs=60)
    assert phase.weights is not None
    total = sum(phase.weights.values())
    for (steps, _), weight in zip(OUTAGE_FLOWS, OUTAGE_MIX):
        assert phase.weights[">".join(steps)] / total == pytest.approx(weight / 40, abs=0.1 * weight / 40 + 0.01)
    assert phase.delay_scale is not None
    assert set(phase.delay_scale) == {"Validated"}
    assert phase.delay_scale["Validated"] == pytest.approx(5.0, rel=0.1)
    assert phase.rate is None
    settings = fitted_toml.load(fitted_toml.render(fitted))
    assert settings.phases[0].delay_scale == {"Validated": phase.delay_scale["Validated"]}


def test_a_surge_is_a_phase_with_its_rate_and_the_rate_outside_stays_the_baseline() -> None:
    fitted = _outage(rate_factor=3.0)
    phase = fitted.phases[0]
    assert phase.rate == pytest.approx(60.0, rel=0.05)
    assert fitted.arrivals.rate == pytest.approx(20.0, rel=0.05)


def test_delays_of_an_incident_are_left_out_of_the_status_fit() -> None:
    fitted = _outage(scale={"Validated": 5.0})
    validated = _status(fitted, "Validated")
    assert validated.params[0] == pytest.approx(400, rel=0.05)


def _banks(kind: str) -> Callable[[random.Random], tuple[str, str]]:
    names = [f"bank-{i}" for i in range(20)]
    weights = [1 / (k + 1) ** 1.1 for k in range(20)] if kind == "zipf" else [1.0] * 20
    return lambda rng: (rng.choices(names, weights)[0], rng.choices(names, weights)[0])


@pytest.mark.parametrize("kind", ["uniform", "zipf"])
def test_banks_are_counted_and_their_popularity_fitted(kind: str) -> None:
    fitted = fit(profile_of(generate(ORIGINAL, REALISTIC, n=20_000, banks=_banks(kind))))
    banks = fitted.banks
    assert (banks.sources, banks.destinations) == (20, 20)
    assert banks.popularity == kind
    if kind == "zipf":
        assert banks.zipf_s == pytest.approx(1.1, abs=0.1)
    settings = fitted_toml.load(fitted_toml.render(fitted))
    assert settings.entities.popularity == kind
