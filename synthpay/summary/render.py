"""The closing tables a run prints."""

from __future__ import annotations

from collections.abc import Sequence

from synthpay.model.reports import DelayReport, PhaseAnomalies
from synthpay.summary.document import Summary


def _table(headers: tuple[str, str], rows: list[tuple[str, int]], total: int) -> str:
    width = max([len(headers[0]), len("TOTAL")] + [len(r[0]) for r in rows])
    nwidth = max([len(headers[1]), len(str(total))] + [len(str(r[1])) for r in rows])
    rule = f"+-{'-' * width}-+-{'-' * nwidth}-+"
    lines = [rule, f"| {headers[0]:<{width}} | {headers[1]:>{nwidth}} |", rule]
    lines += [f"| {name:<{width}} | {count:>{nwidth}} |" for name, count in rows]
    lines += [rule, f"| {'TOTAL':<{width}} | {total:>{nwidth}} |", rule]
    return "\n".join(lines)


def render(summary: Summary) -> str:
    """The original generator's closing tables, plus delivery accounting."""
    parts = [
        _table(("WORKFLOW", "COUNT"), list(summary.workflows.items()), summary.payments_started),
        _table(("STATUS", "PRODUCED EVENTS"), list(summary.statuses.items()), sum(summary.statuses.values())),
        _table(
            ("BANKS", "EVENTS"),
            [("created", summary.banks_created), ("updated", summary.bank_updates)],
            summary.banks_created + summary.bank_updates,
        ),
        _table(
            ("DELIVERY", "EVENTS"),
            [
                ("produced", summary.produced),
                ("delivered", summary.delivered),
                ("failed", summary.failed),
                ("undelivered", summary.undelivered),
            ],
            summary.events_total,
        ),
    ]
    parts += render_scenario(summary)
    if summary.anomalies is not None:
        injected = summary.anomalies.injected
        parts.append(_table(("ANOMALY", "INJECTED"), list(injected.items()), sum(injected.values())))
        if summary.anomalies.phases:
            parts.append(_render_phase_anomalies(summary.anomalies.phases))
    rate = summary.events_total / summary.elapsed_s if summary.elapsed_s else 0.0
    cut = f", {summary.payments_cut} cut short" if summary.payments_cut else ""
    if summary.events_cut:  # injected, never on their topics: the ground-truth topic has them
        cut += f", {summary.events_cut} held-back anomalies cut by the stop"
    parts.append(
        f"Generating... [{summary.payments_started}] payments{cut} took {summary.elapsed_s:.3f}s "
        f"({rate:,.0f} events/s, sink {summary.sink}, clock {summary.clock}, seed {summary.seed})"
    )
    return "\n\n".join(parts) + "\n"


def render_scenario(summary: Summary) -> list[str]:
    """The phase and delay tables, for a run with phases or drawn delays.

    Delays per status (outside phases, and in phases that leave the status unscaled), then
    per phase the statuses it scales. A status no payment reached has "-" for its realized
    figures, never "None".
    """
    tables = []
    if summary.phases:
        lines = [f"{'PHASE':<20} {'STARTED':>9} {'EVENTS':>9} {'TARGET/s':>10} {'ACHIEVED/s':>10}  MIX"]
        for row in summary.phases:
            mix = ", ".join(f"{name} {share:.0%}" for name, share in row.mix.items() if share)
            lines.append(
                f"{row.name or '(outside)':<20} {row.started:>9} {row.events:>9} "
                f"{row.target_rate:>10.1f} {row.achieved_rate:>10.1f}  {mix}"
            )
        tables.append("\n".join(lines))
    if summary.delays:
        # A workflow's own delay is named "Failed in Initiated>Failed": the column fits the longest.
        width = max(14, *map(len, summary.delays))
        lines = [f"{'STATUS DELAY':<{width}} {_DELAY_HEAD}"]
        lines += [f"{name:<{width}} {_delay_cells(report)}" for name, report in summary.delays.items()]
        tables.append("\n".join(lines) + _DELAY_NOTE)
    scaled = [(row.name, name, report) for row in summary.phases for name, report in row.delays.items()]
    if scaled:
        width = max(14, *(len(name) for _, name, _ in scaled))
        lines = [f"{'PHASE':<20} {'STATUS DELAY':<{width}} {_DELAY_HEAD}"]
        lines += [
            f"{phase or '(outside)':<20} {name:<{width}} {_delay_cells(report)}" for phase, name, report in scaled
        ]
        tables.append("\n".join(lines) + _DELAY_NOTE.replace("distribution's", "distribution's, scaled,"))
    return tables


_DELAY_HEAD = f"{'CONFIGURED':<44} {'P50 ms':>15} {'P99 ms':>17}"
_DELAY_NOTE = "\n(realized, with the configured distribution's in brackets; - where no payment reached the status)"


def _delay_cells(report: DelayReport) -> str:
    """A status's configured distribution, then realized p50 and p99 beside the configured ones ("-": none realized)."""
    configured = " ".join(f"{k}={v}" for k, v in report.configured.describe().items())
    p50 = "-" if report.p50_ms is None else report.p50_ms
    p99 = "-" if report.p99_ms is None else report.p99_ms
    return f"{configured:<44} {p50!s:>6} ({report.configured_p50_ms:>6}) {p99!s:>7} ({report.configured_p99_ms:>7})"


def _render_phase_anomalies(rows: Sequence[PhaseAnomalies]) -> str:
    """Per phase and kind: injected of candidates, the realized rate beside the configured one."""
    lines = [f"{'PHASE':<20} {'ANOMALY':<13} {'INJECTED':>9} {'OF':>10} {'REALIZED':>9} {'RATE':>9}"]
    for row in rows:
        for kind, rate in row.rates.items():
            n, hits = row.candidates[kind], row.injected[kind]
            realized = f"{hits / n:.4f}" if n else "-"
            lines.append(f"{row.name or '(outside)':<20} {kind:<13} {hits:>9} {n:>10} {realized:>9} {rate:>9.4f}")
    return "\n".join(lines)
