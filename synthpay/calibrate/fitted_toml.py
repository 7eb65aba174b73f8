"""A :class:`Fitted` as the commented TOML configuration ``synthpay run --config`` takes as is.

Deterministic: the same fit gives the same bytes. Every setting is written with what it was
measured on; whatever the model cannot say is listed at the top. Strings from the data are
status names (made valid by the fit) and currency codes only.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from synthpay import config
from synthpay.calibrate.fit import RARE_CURRENCY, Fitted, FittedDelay, FittedPhase, FittedWorkflow
from synthpay.config.settings import Settings
from synthpay.model import serde
from synthpay.model.delays import PARAMETERS, PLAIN_PARAMETERS, Delay

#: The [amounts] keys of the model's opt-in amount distribution and currency mix.
AMOUNT_KEY = "distribution"
CURRENCIES_KEY = "currencies"


def render(fitted: Fitted) -> str:
    """The configuration, with a comment on each decision."""
    parts = [
        _header(fitted),
        _timing(fitted),
        _run(fitted),
        _entities(fitted),
        _anomalies(fitted),
        _amounts(fitted),
        _statuses(fitted),
        _workflows(fitted),
        _phases(fitted.phases),
    ]
    return "\n".join(part for part in parts if part)


def number(x: float) -> str:
    """``x`` as TOML writes it: whole numbers without a fraction, others shortest."""
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


def string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text)


def delay_table(delay: Delay) -> str:
    """``{ dist = "lognormal", median_ms = 400, p99_ms = 2500 }``."""
    pairs = [f"dist = {string(delay.dist)}"]
    pairs += [f"{name} = {number(value)}" for name, value in zip(PARAMETERS[delay.dist], delay.params)]
    return "{ " + ", ".join(pairs) + " }"


def _comment(lines: Sequence[str]) -> str:
    return "".join(f"# {line}\n" if line else "#\n" for line in lines)


def _hours(seconds: float) -> str:
    if seconds >= 7200:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s"


def _duration(seconds: float) -> str:
    """A duration as run.backfill writes one: ``1d2h3m4s``."""
    whole = round(seconds)
    out = ""
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        count, whole = divmod(whole, size)
        if count:
            out += f"{count}{unit}"
    return out or "0s"


def _header(fitted: Fitted) -> str:
    lines = [
        f"Fitted by `synthpay fit` from {fitted.events:,} status events of {fitted.payments:,} payments "
        f"({fitted.sources} source{'s' if fitted.sources != 1 else ''}),",
        f"first event {serde.rfc3339_ms(fitted.first_ms)}, last {serde.rfc3339_ms(fitted.last_ms)} "
        f"({_hours(fitted.arrivals.span_s)}).",
        "Every value was measured; the comments say on what. It runs as is:",
        "    synthpay run --config fitted.toml",
        f"and writes history of the same span ({_duration(fitted.arrivals.span_s)}) ending about now, on the "
        "virtual clock (as backfill would).",
        "To replay the data's exact window instead, uncomment run.start below.",
        "Nothing identifying was copied: no ids, amounts or bank names; statuses keep their names.",
    ]
    if fitted.not_expressed:
        lines += ["", "Not expressed (the model cannot say it):"] + [f"- {item}" for item in fitted.not_expressed]
    return _comment(lines)


def _timing(fitted: Fitted) -> str:
    t = fitted.timing
    why = (
        f"{t.reordered:.2%} of payments came in another order than their workflow's usual one "
        f"(parallel above {t.threshold:.2%})"
    )
    meaning = (
        "each delay counts from the status before"
        if t.timing == "sequential"
        else "every delay counts from the payment's start"
    )
    return _comment([f"{t.timing}: {meaning}; {why}."]) + f"timing = {string(t.timing)}\n"


def _run(fitted: Fitted) -> str:
    a = fitted.arrivals
    rows = [
        ("[run]", ""),
        ('clock = "virtual"', "history ending about now, as fast as the sink takes it"),
        (
            f"# start = {string(serde.rfc3339_ms(fitted.first_ms))}",
            "uncomment to replay the data's exact window (from its first event)",
        ),
        ("payments = 0", "no count: the span and the rate decide"),
        (
            f"duration_s = {number(a.span_s)}",
            f'payments started over {_hours(a.span_s)} in the data (backfill = "{_duration(a.span_s)}")',
        ),
        (f"rate = {number(a.rate)}", f"payments/s outside incidents, from {a.gaps + 1:,} starts"),
        (
            f"arrivals = {string(a.arrivals)}",
            f"coefficient of variation of the gaps between starts {a.cv:.3f} (poisson ~1, constant ~0)",
        ),
        (
            f"workers = {a.workers}",
            f"never the limit: peak rate x long-tail lifetime ({a.lifetime_s:.1f} s, p99.9 delays) x 2",
        ),
    ]
    text = _aligned(rows)
    if a.curve:
        values = ", ".join(number(x) for x in a.curve)
        text += (
            "# 24 multipliers of the rate by hour of day (UTC), from the payments started in each hour.\n"
            f"arrival_curve = [{values}]\n"
        )
    return text


#: Comments line up after settings at most this long; a longer one has its comment just after it.
_ALIGN_MAX = 60


def _aligned(rows: Sequence[tuple[str, str]]) -> str:
    width = max([len(code) for code, comment in rows if comment and len(code) <= _ALIGN_MAX], default=0) + 1
    return "".join(f"{code:<{width}} # {comment}\n" if comment else f"{code}\n" for code, comment in rows)


def _entities(fitted: Fitted) -> str:
    b = fitted.banks
    if not b.seen:
        return "[entities]\n# The input has no banks: the defaults stay.\n"

    def side(fit: tuple[str, float, float] | None) -> str:
        if fit is None:
            return "-"
        kind, s, p = fit
        return f"zipf, s {s:.3f}" if kind == "zipf" else f"uniform (p {p:.3g})"

    rows = [
        ("[entities]", ""),
        (f"sources = {b.sources}", "source banks seen"),
        (f"destinations = {b.destinations}", "destination banks seen"),
        (
            f"popularity = {string(b.popularity)}",
            f"sources {side(b.source_fit)}; destinations {side(b.destination_fit)}",
        ),
        (f"zipf_s = {number(b.zipf_s)}", "mean of the sides' exponents" if b.popularity == "zipf" else "unused"),
    ]
    return _aligned(rows)


def _anomalies(fitted: Fitted) -> str:
    a = fitted.anomalies
    late_delay = a.late_delay or Delay("exponential", (30_000.0,))
    rows = [
        ("[anomalies]", ""),
        (f"duplicate = {number(a.duplicate)}", f"per event: {a.duplicates:,} repeated events"),
        (
            f"late = {number(a.late)}",
            f"per event: {a.late_seen:,} events later than {a.late_tolerance_ms:,.0f} ms, "
            "corrected for lateness below it"
            if a.late_seen
            else "per event: none seen",
        ),
        (
            f"late_delay = {delay_table(late_delay)}",
            "exponential over the excess beyond the tolerance" if a.late_delay else "the default: no lateness seen",
        ),
        (
            f"out_of_order = {number(a.out_of_order)}",
            f"per payment: {a.out_of_order_payments:,} payments with a swapped pair",
        ),
        (
            f"missing = {number(a.missing)}",
            f"per event after the first: about {a.missing_events:,.0f} events never seen "
            f"({len(fitted.variants)} paths explained as steps missing from a workflow)",
        ),
    ]
    return _aligned(rows)


def _amounts(fitted: Fitted) -> str:
    amounts = fitted.amounts
    if amounts is None or not fitted.amounts_expressed:
        return ""
    text = "[amounts]\n"
    if amounts.original_amounts:
        text += _comment(
            [
                f"No distribution: the original's uniform amounts (KS {amounts.uniform_ks:.3g} against "
                f"uniform 0.10 to 99998.99, p {amounts.uniform_p:.2g}; {amounts.distribution.values:,} amounts)."
            ]
        )
    else:
        d = amounts.distribution.delay
        pairs = [f"dist = {string(d.dist)}"]
        pairs += [f"{name} = {number(value)}" for name, value in zip(PLAIN_PARAMETERS[d.dist], d.params)]
        text += _comment([*_delay_comment(amounts.distribution, "amounts"), "(parameters to 3 significant digits)"])
        text += f"{AMOUNT_KEY} = {{ {', '.join(pairs)} }}\n"
    if amounts.original_currencies:
        text += _comment(
            [
                "Uniform over every ISO 4217 code, as the original: every code seen is one it draws, and "
                f"equal shares over them all are not rejected (chi-squared p {amounts.equal_shares_p:.2g})."
            ]
        )
        text += f"{CURRENCIES_KEY} = {{}}\n"
    elif amounts.currencies:
        left_out = [f"{amounts.other_currencies:,} with no ISO code"] if amounts.other_currencies else []
        if amounts.rare_codes:
            left_out.append(
                f"{amounts.rare_payments:,} in {amounts.rare_codes} codes each under {RARE_CURRENCY:.1%} of payments"
            )
        note = f"; left out: {', '.join(left_out)}" if left_out else ""
        mix = ", ".join(f"{code} = {n}" for code, n in amounts.currencies.items())
        text += f"{CURRENCIES_KEY} = {{ {mix} }}  # payments per currency{note}\n"
    return text


def _delay_comment(fitted: FittedDelay, what: str) -> list[str]:
    if not fitted.scores:
        return [fitted.note]
    best, *others = fitted.scores
    rest = ", ".join(f"{s.delay.dist} {s.ks:.3g}" for s in others)
    return [
        f"{best.delay.dist} chosen, KS {best.ks:.3g}" + (f" ({rest})" if rest else "") + f"; {fitted.values:,} {what}"
    ]


def _statuses(fitted: Fitted) -> str:
    text = "[statuses]\n" + _comment(
        [
            "Each status's delay, the family with the least Kolmogorov-Smirnov statistic against "
            + (
                "the gaps since the status before."
                if fitted.timing.timing == "sequential"
                else "the times since the workflow's first step (payment by payment), plus the first step's own "
                "fixed delay: a status that can come before the first step keeps a delay >= 0."
            ),
        ]
    )
    for status in fitted.statuses:
        note = _delay_comment(status.delay, "delays")
        if status.observed_as != status.name:
            note.append(f"named {string(status.observed_as)} in the data: made a valid status name")
        text += _comment(note) + f"{status.name} = {{ delay = {delay_table(status.delay.delay)} }}\n"
    return text


def _workflows(fitted: Fitted) -> str:
    text = _comment(
        [
            "",
            "Every observed path, weighted by its payments outside incidents, less those explained as another",
            "workflow with a step missing, over the share of its payments that lost no step.",
        ]
    )
    for wf in fitted.workflows:
        text += "\n" + _workflow(wf, fitted.per_workflow_delays)
    return text


def _workflow(wf: FittedWorkflow, per_workflow: bool) -> str:
    text = (
        "[[workflows]]\n"
        f"name = {string(wf.name)}\n"
        f"steps = [{', '.join(string(s) for s in wf.steps)}]\n"
        f"weight = {wf.weight}  # {wf.payments:,} payments seen on this path\n"
    )
    if wf.delays:
        lines = []
        for status, delay in wf.delays.items():
            if status in wf.split_evidence:
                d, p = wf.split_evidence[status]
                lines += [f"{status} differs here from its other workflows: two-sample KS {d:.3g}, p {p:.2g}"]
            lines += _delay_comment(delay, "delays")
        if per_workflow:
            pairs = ", ".join(f"{status} = {delay_table(d.delay)}" for status, d in wf.delays.items())
            text += _comment(lines) + f"delays = {{ {pairs} }}\n"
        else:
            text += _comment([*lines, "(not expressed: per-workflow delays are off)"])
    return text


def _phases(phases: Sequence[FittedPhase]) -> str:
    if not phases:
        return ""
    text = _comment(["", "Incidents: where the mix, a delay or the rate departed from the rest for long enough."])
    for phase in phases:
        rows: list[tuple[str, str]] = [
            ("[[phases]]", ""),
            (f"name = {string(phase.name)}", f"departed: {phase.what}" if phase.what else "a change point"),
            (f"at_s = {number(phase.at_s)}", "seconds after the run's start"),
            (f"duration_s = {number(phase.duration_s)}", f"{phase.payments:,} payments started in it"),
        ]
        if phase.rate is not None:
            rows.append((f"rate = {number(phase.rate)}", "payments/s inside"))
        if phase.weights:
            rows.append((f"weights = {_inline(phase.weights)}", f"the mix inside; chi-squared p {phase.mix_p:.2g}"))
        if phase.delay_scale:
            rows.append(
                (f"delay_scale = {_inline(phase.delay_scale)}", "ratio of the delays' geometric means inside/outside")
            )
        text += "\n" + _aligned(rows)
    return text


def _inline(table: Mapping[str, float]) -> str:
    return "{ " + ", ".join(f"{string(k)} = {number(v)}" for k, v in table.items()) + " }"


def load(text: str) -> Settings:
    """The settings ``text`` gives on its own (no config.toml, .env or environment): ConfigError if it has none."""
    with tempfile.TemporaryDirectory(prefix="synthpay-fit-") as directory:
        path = Path(directory) / "fitted.toml"
        path.write_text(text, encoding="utf-8")
        return config.load(config_path=str(path), env={}, cwd=Path(directory))
