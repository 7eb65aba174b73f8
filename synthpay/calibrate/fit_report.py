"""The fit report: a table for the terminal, and the same evidence as one JSON document.

The JSON document (``synthpay fit --json FILE``) is described in docs/reference/cli.md. Like
the fitted configuration it holds counts, parameters, status names and currency codes, never
ids, amounts, bank names or what the sources were called.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from synthpay.calibrate.fit import Fitted, FittedDelay, FittedPhase
from synthpay.model import serde
from synthpay.model.delays import PARAMETERS, PLAIN_PARAMETERS, Delay

#: JSON-ready data.
Plain = str | int | float | bool | None | list["Plain"] | dict[str, "Plain"]

#: The JSON document's version: bumped when a field changes meaning or goes.
VERSION = 1


def table(fitted: Fitted) -> str:
    """The report as text for a terminal."""
    a, t = fitted.arrivals, fitted.timing
    lines = [
        f"fit: {fitted.events:,} events, {fitted.payments:,} payments, "
        f"{serde.rfc3339_ms(fitted.first_ms)} to {serde.rfc3339_ms(fitted.last_ms)}",
        f"timing: {t.timing} ({t.reordered:.2%} of payments reordered; parallel above {t.threshold:.2%})",
        f"arrivals: {a.rate:.4g}/s {a.arrivals} (gap CV {a.cv:.3f}), "
        + (f"hour-of-day curve {min(a.curve):.2f}..{max(a.curve):.2f}" if a.curve else "flat")
        + f", workers {a.workers:,}",
        "",
        f"{'status':<16} {'delays':>9}  {'chosen':<40} KS of each family",
    ]
    lines += [_delay_row(status.name, status.delay) for status in fitted.statuses]
    lines += ["", f"{'workflow':<48} {'weight':>9} {'payments':>10}"]
    for wf in fitted.workflows:
        lines.append(f"{wf.name:<48} {wf.weight:>9,} {wf.payments:>10,}")
        for status, delay in wf.delays.items():
            lines.append("  " + _delay_row(status, delay))
    if fitted.variants:
        lines.append(f"({len(fitted.variants)} paths, {sum(fitted.variants.values()):,} payments: steps missing)")
    b, x = fitted.banks, fitted.anomalies
    lines += [
        "",
        f"banks: {b.sources} sources, {b.destinations} destinations, {b.popularity}"
        + (f" s {b.zipf_s:g}" if b.popularity == "zipf" else "")
        + ("" if b.seen else " (not in the input: defaults)"),
        f"anomalies: duplicate {x.duplicate:g}/event, late {x.late:g}/event, out_of_order {x.out_of_order:g}/payment, "
        f"missing {x.missing:g}/event",
    ]
    for phase in fitted.phases:
        lines.append(_phase_row(phase))
    if fitted.amounts is not None:
        lines.append(_delay_row("amounts", fitted.amounts.distribution, PLAIN_PARAMETERS))
        if fitted.amounts.original_amounts:
            lines.append(
                f"amounts: the original's uniform 0.10 to 99998.99 (KS {fitted.amounts.uniform_ks:.3g}): not written"
            )
        if fitted.amounts.original_currencies:
            lines.append("currencies: uniform over every ISO code, as the original: currencies = {}")
    for item in fitted.not_expressed:
        lines.append(f"not expressed: {item}")
    return "\n".join(lines) + "\n"


def _delay_row(name: str, fitted: FittedDelay, names: Mapping[str, tuple[str, ...]] = PARAMETERS) -> str:
    chosen = _spelled(fitted.delay, names)
    scores = "  ".join(f"{s.delay.dist} {s.ks:.3g}" for s in fitted.scores) or fitted.note
    return f"{name:<16} {fitted.values:>9,}  {chosen:<40} {scores}"


def _spelled(delay: Delay, names: Mapping[str, tuple[str, ...]]) -> str:
    params = " ".join(f"{name}={value:g}" for name, value in zip(names[delay.dist], delay.params))
    return f"{delay.dist} {params}"


def _phase_row(phase: FittedPhase) -> str:
    parts = [f"incident {phase.name!r}: at {phase.at_s:g} s for {phase.duration_s:g} s"]
    if phase.what:
        parts.append(phase.what)
    if phase.rate is not None:
        parts.append(f"rate {phase.rate:g}/s")
    if phase.weights:
        parts.append(f"mix changed (p {phase.mix_p:.2g})")
    if phase.delay_scale:
        parts.append("delays x " + ", ".join(f"{k} {v:g}" for k, v in phase.delay_scale.items()))
    return "; ".join(parts)


def document(fitted: Fitted) -> dict[str, Plain]:
    """The report as JSON-ready data (docs/reference/cli.md describes every field)."""
    a, b, x, t = fitted.arrivals, fitted.banks, fitted.anomalies, fitted.timing
    return {
        "version": VERSION,
        "input": {
            "sources": fitted.sources,
            "events": fitted.events,
            "payments": fitted.payments,
            "first": serde.rfc3339_ms(fitted.first_ms),
            "last": serde.rfc3339_ms(fitted.last_ms),
            "span_s": a.span_s,
        },
        "timing": {"chosen": t.timing, "reordered": t.reordered, "threshold": t.threshold},
        "statuses": [
            {"name": s.name, "observed_as": s.observed_as, "events": s.events, **_delay(s.delay)}
            for s in fitted.statuses
        ],
        "workflows": [
            {
                "name": wf.name,
                "steps": list(wf.steps),
                "weight": wf.weight,
                "payments": wf.payments,
                "delays": {status: _delay(d) for status, d in wf.delays.items()},
                "split_evidence": {status: {"ks": d, "p": p} for status, (d, p) in wf.split_evidence.items()},
            }
            for wf in fitted.workflows
        ],
        "variants": [{"steps": list(path), "payments": n} for path, n in fitted.variants.items()],
        "arrivals": {
            "rate": a.rate,
            "arrivals": a.arrivals,
            "gap_cv": a.cv,
            "gaps": a.gaps,
            "arrival_curve": list(a.curve),
            "workers": a.workers,
            "lifetime_s": a.lifetime_s,
        },
        "banks": {
            "seen": b.seen,
            "sources": b.sources,
            "destinations": b.destinations,
            "popularity": b.popularity,
            "zipf_s": b.zipf_s,
            "source_fit": _popularity(b.source_fit),
            "destination_fit": _popularity(b.destination_fit),
        },
        "anomalies": {
            "duplicate": x.duplicate,
            "duplicates": x.duplicates,
            "late": x.late,
            "late_seen": x.late_seen,
            "late_tolerance_ms": x.late_tolerance_ms,
            "late_delay": _params(x.late_delay) if x.late_delay else None,
            "out_of_order": x.out_of_order,
            "out_of_order_payments": x.out_of_order_payments,
            "missing": x.missing,
            "missing_events": x.missing_events,
        },
        "incidents": [_phase(p) for p in fitted.phases],
        "amounts": None
        if fitted.amounts is None
        else {
            **_delay(fitted.amounts.distribution, PLAIN_PARAMETERS),
            "currencies": dict(fitted.amounts.currencies),
            "other_currencies": fitted.amounts.other_currencies,
            "uniform_ks": fitted.amounts.uniform_ks,
            "uniform_p": fitted.amounts.uniform_p,
            "original_amounts": fitted.amounts.original_amounts,
            "equal_shares_p": fitted.amounts.equal_shares_p,
            "original_currencies": fitted.amounts.original_currencies,
            "rare_codes": fitted.amounts.rare_codes,
            "rare_payments": fitted.amounts.rare_payments,
            "expressed": fitted.amounts_expressed,
        },
        "not_expressed": list(fitted.not_expressed),
    }


def to_json(fitted: Fitted) -> str:
    """:func:`document` as indented JSON text."""
    return json.dumps(document(fitted), indent=2) + "\n"


def _params(delay: Delay, names: Mapping[str, tuple[str, ...]] = PARAMETERS) -> dict[str, Plain]:
    return {"dist": delay.dist, **dict(zip(names[delay.dist], delay.params))}


def _delay(fitted: FittedDelay, names: Mapping[str, tuple[str, ...]] = PARAMETERS) -> dict[str, Plain]:
    return {
        "values": fitted.values,
        "chosen": _params(fitted.delay, names),
        "note": fitted.note,
        "families": [{**_params(s.delay, names), "ks": s.ks} for s in fitted.scores],
    }


def _popularity(fit: tuple[str, float, float] | None) -> Plain:
    if fit is None:
        return None
    kind, s, p = fit
    return {"kind": kind, "s": s, "p_uniform": p}


def _phase(phase: FittedPhase) -> dict[str, Plain]:
    weights: Mapping[str, int] = phase.weights or {}
    scales: Mapping[str, float] = phase.delay_scale or {}
    return {
        "name": phase.name,
        "at_s": phase.at_s,
        "duration_s": phase.duration_s,
        "what": phase.what,
        "payments": phase.payments,
        "rate": phase.rate,
        "weights": dict(weights) if phase.weights else None,
        "mix_p": phase.mix_p,
        "delay_scale": dict(scales) if phase.delay_scale else None,
    }
