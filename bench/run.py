"""synthpay benchmark: every figure of the performance issue, measured in one run.

Usage (services up, as for the tests):
    scripts/services up && eval "$(scripts/services env)"
    .venv/bin/python bench/run.py [--payments 200000] [--realtime-payments 100000]
    .venv/bin/python bench/run.py --only-fit [--fit-events 10000000]   # no services needed

Prints one JSON line per figure, then a table with each figure beside its target. Runs
against the broker and registry in SYNTHPAY_IT_BOOTSTRAP / SYNTHPAY_IT_REGISTRY, into
fresh topics (a unique prefix per run). Figures are ratios and rates from this one run on
this machine: compare them with each other, not with another day's.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from synthpay.config.clocks import profile
from synthpay.config.settings import DEFAULT_STATUSES, DEFAULT_WORKFLOWS
from synthpay.model import entities, serde
from synthpay.model.events import Topic
from synthpay.sinks.kafka import PRODUCER_DEFAULTS

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Outcome:
    summary: dict[str, Any]  # includes peak_rss_mib, read by the child itself (VmHWM)
    cpu_s: float
    wall_s: float


#: Every anomaly at 1%: the dirty-data figure's configuration.
DIRTY = "[anomalies]\nlate = 0.01\nduplicate = 0.01\nout_of_order = 0.01\nmissing = 0.01\n"


def emit(
    figure: str, value: float, unit: str, target: str = "", ok: bool | None = None, **extra: Any
) -> dict[str, Any]:
    row = {"figure": figure, "value": round(value, 3), "unit": unit, "target": target, "ok": ok, **extra}
    print(json.dumps(row), flush=True)
    return row


def config_file(tmp: Path, prefix: str, *, lognormal: bool = False, extra: str = "") -> Path:
    """Fresh topics for every scenario, so none reads another's data or pays for its size.

    ``lognormal``: every status draws its delay, median the default delay, p99 five times it.
    """
    lines = ["[entities]", f'banks_topic = "{prefix}-banks"', "[statuses]"]
    for name, delay, partitions in DEFAULT_STATUSES:
        timing = (
            f'delay = {{ dist = "lognormal", median_ms = {delay}, p99_ms = {5 * delay} }}'
            if lognormal
            else f"delay_ms = {delay}"
        )
        lines.append(f'{name} = {{ {timing}, partitions = {partitions}, topic = "{prefix}-payment-{name.lower()}" }}')
    path = tmp / f"{prefix}.toml"
    path.write_text(extra + "\n".join(lines) + "\n")
    return path


def broker_cpu_s() -> float:
    """CPU seconds the broker's JVM has used so far (it shares this machine's cores)."""
    pid = Path(os.environ["SYNTHPAY_SVC_KAFKA_PID_FILE"]).read_text().strip()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def synthpay(tmp: Path, args: list[str], env: dict[str, str]) -> Outcome:
    """Run ``synthpay run`` and collect its summary and CPU seconds (wait4).

    Not wait4's peak RSS: ru_maxrss survives exec, so every child would report at least
    this benchmark's own peak.
    """
    summary_path = tmp / f"summary-{uuid.uuid4().hex[:8]}.json"
    cmd = [
        sys.executable,
        "-m",
        "synthpay",
        "run",
        "--summary-json",
        str(summary_path),
        "--log-level",
        "warning",
        *args,
    ]
    began = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=tmp, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - began
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or not summary_path.exists():
        raise SystemExit(f"bench: synthpay {' '.join(args)} failed with exit code {code}")
    return Outcome(json.loads(summary_path.read_text()), usage.ru_utime + usage.ru_stime, wall)


def handover(tmp: Path, prefix: str, rate: float, live_s: float) -> tuple[dict[str, Any], float]:
    """A continuous one-hour backfill into Kafka, stopped ``live_s`` seconds after it went live.

    Returns its summary and the wall seconds the backfill took (from run_start to the seam).
    """
    summary_path = tmp / f"{prefix}-summary.json"
    cmd = [
        *(sys.executable, "-m", "synthpay", "run", "--backfill", "1h", "--mode", "continuous"),
        *("--rate", str(rate), "--workers", str(int(rate * 50)), "--log-format", "json"),
        *("--summary-json", str(summary_path)),
    ]
    env = {**os.environ, **kafka_env(config_file(tmp, prefix))}
    proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if '"event": "live"' in line:
            backfill_s = float(json.loads(line)["backfill_s"])
            break
    else:
        raise SystemExit("bench: the backfill ended without going live")
    time.sleep(live_s)
    proc.send_signal(signal.SIGTERM)
    proc.stderr.read()
    if proc.wait() != 0 or not summary_path.exists():
        raise SystemExit(f"bench: the handover run failed with exit code {proc.returncode}")
    return json.loads(summary_path.read_text()), backfill_s


def ramp(tmp: Path, prefix: str, low: float, high: float, seconds: float) -> tuple[list[dict[str, Any]], float]:
    """A real-clock run into Kafka whose start rate ramps from ``low`` to ``high`` payments/s.

    Returns its progress lines (one a second) and the setup time to take off their elapsed_s.
    """
    extra = f'[[phases]]\nname = "ramp"\nat_s = 0\nduration_s = {seconds}\nrate = {low}\nrate_end = {high}\n'
    env = kafka_env(config_file(tmp, prefix, extra=extra))
    summary_path, log_path = tmp / f"{prefix}-summary.json", tmp / f"{prefix}.log"
    cmd = [
        sys.executable,
        "-m",
        "synthpay",
        "run",
        "--clock",
        "real",
        "--rate",
        str(low),
        "--payments",
        "0",
        "--duration",
        str(seconds),
        "--workers",
        str(int(high * 8)),
        "--summary-interval",
        "1",
        "--summary-json",
        str(summary_path),
    ]
    with log_path.open("w") as log:
        code = subprocess.run(cmd, cwd=tmp, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log).returncode
    if code != 0:
        raise SystemExit(f"bench: the ramp failed with exit code {code}; see {log_path}")
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "progress"], json.loads(summary_path.read_text())["setup_s"]


def sustained(
    progress: list[dict[str, Any]], setup_s: float, low: float, high: float, seconds: float
) -> tuple[float, float, dict[str, Any]]:
    """What the ramp sustained, by the second: (the highest target rate up to which every second
    kept lag p99 <= 20 ms and 95% of the starts; the highest up to which every second kept 95%
    of the starts, whatever the lag; the first second that failed the former, or {}).
    """
    strict = kept = 0.0
    broke: dict[str, Any] = {}
    previous_started, previous_t = 0, 0.0
    for line in progress:
        t = line["elapsed_s"] - setup_s
        if t > seconds:
            break
        target = low + (high - low) * min(1.0, max(0.0, (t + previous_t) / 2 / seconds))
        achieved = (line["started"] - previous_started) / max(1e-9, t - previous_t)
        previous_started, previous_t = line["started"], t
        if achieved < 0.95 * target:
            break
        kept = target
        if not broke and line["interval_lag_p99_ms"] > 20:
            broke = {
                "at_s": round(t, 1),
                "target": round(target),
                "achieved": round(achieved),
                "lag_p99_ms": line["interval_lag_p99_ms"],
                "backlog": line["backlog"],
                "io_busy": line["io_busy"],
                "sink_queue": line["sink_queue"],
            }
        if not broke:
            strict = target
    return strict, kept, broke


def kafka_env(prefix_config: Path) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": os.environ["SYNTHPAY_IT_BOOTSTRAP"],
        "SCHEMA_REGISTRY_ENDPOINT": os.environ["SYNTHPAY_IT_REGISTRY"],
        "SYNTHPAY_CONFIG": str(prefix_config),
    }


def generation_rate(outcome: Outcome) -> float:
    """Events delivered per second of generation (start-up: connect, topics, schemas excluded)."""
    s = outcome.summary
    generating: float = s["elapsed_s"] - s["setup_s"]
    return float(s["delivered"]) / max(1e-9, generating)


def client_limit(events: int, prefix: str) -> tuple[float, float]:
    """A bare confluent-kafka loop: pre-encoded values of the same sizes, keys and topics, same settings.

    Returns events/s delivered and this process's CPU seconds per event while producing.
    """
    import random

    rng = random.Random(1)
    banks = [entities.encoded(str(uuid.UUID(int=rng.getrandbits(128)))) for _ in range(20)]
    statuses = {
        name: Topic(f"{prefix}-payment-{name.lower()}", "payment", parts, name, serde.avro_string(name))
        for name, _, parts in DEFAULT_STATUSES
    }
    weights = [w for _, w in DEFAULT_WORKFLOWS]
    pool: list[tuple[str, bytes, bytes]] = []
    while len(pool) < 50_000:
        payment = entities.Payment(*entities.new_payment_fields(rng, banks[:10], banks[10:]))
        steps = rng.choices([s for s, _ in DEFAULT_WORKFLOWS], weights)[0]
        for step in steps:
            status = statuses[step]
            pool.append(
                (status.name, payment.id.encode(), b"\x00\x00\x00\x00\x01" + payment.avro(status, 1_700_000_000_000))
            )
    delivered = [0]

    def on_delivery(err: Any, msg: Any) -> None:
        if err is None:
            delivered[0] += 1

    producer = Producer(
        {
            **PRODUCER_DEFAULTS,
            "linger.ms": str(profile("virtual").linger_ms),
            "bootstrap.servers": os.environ["SYNTHPAY_IT_BOOTSTRAP"],
            "on_delivery": on_delivery,
        }
    )
    headers: list[tuple[str, str | bytes | None]] = [("status", b"Initiated"), ("run_id", b"bench")]
    began, cpu_began = time.monotonic(), time.process_time()
    for i in range(events):
        topic, key, value = pool[i % len(pool)]
        while True:
            try:
                producer.produce(topic, value, key, timestamp=1_700_000_000_000, headers=headers)
                break
            except BufferError:
                producer.poll(0.05)
        if i % 2000 == 0:
            producer.poll(0)
    producer.flush(120)
    elapsed, cpu = time.monotonic() - began, time.process_time() - cpu_began
    return delivered[0] / elapsed, cpu / events


#: The Kafka value formats measured beside Avro's backfill (kafka.value_format names).
VALUE_FORMATS = ("json", "json_schema", "protobuf")


def value_formats(tmp: Path, run: str, backfill: list[str], avro: Outcome) -> list[dict[str, Any]]:
    """Backfill into Kafka in each other value format, as a ratio of the Avro run's events/s.

    Beside it, the Avro run's CPU per event over the format's: on a machine shared with
    other work, wall-clock rates swing between runs, CPU seconds much less.
    """
    rows = []
    avro_rate, avro_cpu = generation_rate(avro), avro.cpu_s / avro.summary["delivered"]
    for fmt in VALUE_FORMATS:
        outcome = synthpay(
            tmp, [*backfill, "--sink", "kafka", "--value-format", fmt], kafka_env(config_file(tmp, f"{run}-v{fmt}"))
        )
        rate = generation_rate(outcome)
        ratio = rate / avro_rate
        rows.append(emit(f"backfill_kafka_{fmt}_vs_avro", ratio, "ratio", ">= 0.8", ratio >= 0.8, eps=round(rate)))
        cpu = outcome.cpu_s / outcome.summary["delivered"]
        rows.append(
            emit(f"backfill_kafka_{fmt}_cpu_vs_avro", avro_cpu / cpu, "ratio", note="Avro's CPU per event / this")
        )
    return rows


def file_formats(tmp: Path, backfill: list[str]) -> list[dict[str, Any]]:
    """File-sink backfill per file.format as a ratio of the Avro run's events/s, and bytes per event on disk."""
    rows, rates = [], {}
    for fmt in ("avro", "jsonl", "parquet"):
        out = tmp / f"files-{fmt}"
        outcome = synthpay(tmp, [*backfill, "--sink", "file", "--file-format", fmt, "--out", str(out)], {})
        rates[fmt] = generation_rate(outcome)
        size = sum(path.stat().st_size for path in out.iterdir() if path.is_file())
        per_event = size / outcome.summary["delivered"]
        if fmt == "avro":
            rows.append(emit("backfill_file_avro_eps", rates[fmt], "events/s"))
        else:
            ratio = rates[fmt] / rates["avro"]
            rows.append(emit(f"backfill_file_{fmt}_vs_avro", ratio, "ratio", ">= 0.8", ratio >= 0.8))
        note = "Avro deflate, labels none" if fmt == "avro" else "beside Avro deflate's"
        rows.append(emit(f"file_{fmt}_bytes_per_event", per_event, "bytes", note=note))
    return rows


#: Payment events per payment under the default workflows (their weighted mean length).
EVENTS_PER_PAYMENT = sum(len(steps) * weight for steps, weight in DEFAULT_WORKFLOWS) / sum(
    weight for _, weight in DEFAULT_WORKFLOWS
)


def fit_figures(tmp: Path, events: int) -> list[dict[str, Any]]:
    """``synthpay fit`` reading the file sink's Avro files: events/s and peak memory.

    The peak is wait4's ru_maxrss, which counts this benchmark's own resident size at the
    fork too: an upper bound on the fit's.
    """
    source = tmp / "fit-source"
    payments = str(round(events / EVENTS_PER_PAYMENT))
    written = synthpay(
        tmp,
        ["--clock", "virtual", "--payments", payments, "--workers", "10000", "--seed", "7", "--out", str(source)],
        {},
    )
    report = tmp / "fit.json"
    cmd = [
        sys.executable,
        "-m",
        "synthpay",
        "fit",
        str(source),
        "--out",
        str(tmp / "fitted.toml"),
        "--json",
        str(report),
    ]
    began = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=tmp, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("bench: synthpay fit failed")
    read = json.loads(report.read_text())["input"]["events"]
    rate, peak_mib = read / wall, usage.ru_maxrss / 1024
    return [
        emit("fit_file_avro_eps", rate, "events/s", ">= 200000", rate >= 200_000, events=read, wall_s=round(wall, 1)),
        emit(
            "fit_vs_file_backfill", rate / generation_rate(written), "ratio", note="fit reading / synthpay writing them"
        ),
        emit("fit_peak_rss", peak_mib, "MiB", "<= 1024", peak_mib <= 1024, events=read),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=200_000, help="payments in the backfill figures")
    parser.add_argument("--workers", type=int, default=10_000, help="payments in flight during the backfill")
    parser.add_argument("--realtime-payments", type=int, default=100_000, help="payments in the real-time figures")
    parser.add_argument("--ramp-to", type=float, default=60_000.0, help="payments/s at the end of the 60 s ramp")
    parser.add_argument(
        "--handover-rate", type=float, default=200.0, help="payments/s of the backfill-then-live figure"
    )
    parser.add_argument("--fit-events", type=int, default=10_000_000, help="events the fit figures read")
    parser.add_argument("--only-fit", action="store_true", help="only the fit figures (no services needed)")
    args = parser.parse_args()
    if args.only_fit:
        with tempfile.TemporaryDirectory(prefix="synthpay-bench-") as tmpdir:
            table(fit_figures(Path(tmpdir), args.fit_events))
        return
    if "SYNTHPAY_IT_BOOTSTRAP" not in os.environ:
        raise SystemExit('bench: run `scripts/services up && eval "$(scripts/services env)"` first')
    rows: list[dict[str, Any]] = []
    run = f"bench{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory(prefix="synthpay-bench-") as tmpdir:
        tmp = Path(tmpdir)
        backfill = [
            "--clock",
            "virtual",
            "--payments",
            str(args.payments),
            "--workers",
            str(args.workers),
            "--seed",
            "7",
        ]

        rows += file_formats(tmp, backfill)
        rows += fit_figures(tmp, args.fit_events)

        null = synthpay(tmp, [*backfill, "--sink", "null"], {"SYNTHPAY_CONFIG": str(config_file(tmp, f"{run}-n"))})
        null_rate = generation_rate(null)
        rows.append(
            emit(
                "engine_null_virtual_eps",
                null_rate,
                "events/s",
                ">= 250000",
                null_rate >= 250_000,
                events=null.summary["delivered"],
            )
        )
        drawn = synthpay(
            tmp, [*backfill, "--sink", "null"], {"SYNTHPAY_CONFIG": str(config_file(tmp, f"{run}-ln", lognormal=True))}
        )
        drawn_ratio = generation_rate(drawn) / null_rate
        rows.append(
            emit(
                "engine_lognormal_vs_fixed",
                drawn_ratio,
                "ratio",
                ">= 0.8",
                drawn_ratio >= 0.8,
                eps=round(generation_rate(drawn)),
                note="every status lognormal, p99 5x the median",
            )
        )
        dirty = synthpay(
            tmp, [*backfill, "--sink", "null"], {"SYNTHPAY_CONFIG": str(config_file(tmp, f"{run}-an", extra=DIRTY))}
        )
        dirty_ratio = generation_rate(dirty) / null_rate
        rows.append(
            emit(
                "engine_anomalies_vs_clean",
                dirty_ratio,
                "ratio",
                ">= 0.8",
                dirty_ratio >= 0.8,
                eps=round(generation_rate(dirty)),
                note="late, duplicate, out_of_order, missing at 1% each",
            )
        )

        # A one-payment run costs what every run costs before and after generating: start-up,
        # topics, schemas, for synthpay and the broker alike. Taken off, what is left is the
        # CPU each event costs while generating.
        broker_before = broker_cpu_s()
        fixed = synthpay(
            tmp, ["--clock", "virtual", "--payments", "1", "--sink", "kafka"], kafka_env(config_file(tmp, f"{run}-f"))
        )
        broker_fixed = broker_cpu_s() - broker_before
        broker_before = broker_cpu_s()
        kafka = synthpay(tmp, [*backfill, "--sink", "kafka"], kafka_env(config_file(tmp, f"{run}-k")))
        events = kafka.summary["delivered"]
        broker_per_event = (broker_cpu_s() - broker_before - broker_fixed) / events
        synthpay_per_event = (kafka.cpu_s - fixed.cpu_s) / events
        kafka_rate = generation_rate(kafka)
        limit, client_cpu_per_event = client_limit(events, f"{run}-c")
        rows.append(emit("client_limit_eps", limit, "events/s", "", None, events=events))
        rows.append(
            emit("backfill_kafka_eps", kafka_rate, "events/s", ">= 150000", kafka_rate >= 150_000, events=events)
        )
        rows.append(emit("backfill_vs_null", kafka_rate / null_rate, "ratio", ">= 0.6", kafka_rate / null_rate >= 0.6))
        rows.append(emit("backfill_vs_client_limit", kafka_rate / limit, "ratio"))
        rows.append(emit("backfill_cpu_s_per_million", kafka.cpu_s / events * 1e6, "CPU s"))
        rows.append(emit("backfill_peak_rss", kafka.summary["peak_rss_mib"], "MiB"))
        rows.extend(value_formats(tmp, run, backfill, kafka))
        rows.append(emit("client_limit_cpu_s_per_million", client_cpu_per_event * 1e6, "CPU s"))
        rows.append(
            emit(
                "generating_cpu_s_per_million",
                synthpay_per_event * 1e6,
                "CPU s",
                note="the backfill's CPU less a one-payment run's",
            )
        )
        rows.append(
            emit(
                "broker_cpu_s_per_million",
                broker_per_event * 1e6,
                "CPU s",
                note="the broker's JVM during the backfill, less during a one-payment run",
            )
        )
        # With every core busy, events/s can be at most cores / CPU per event, counting the
        # broker's share: the ceiling for --processes on this machine, and for the bare loop.
        cores = os.cpu_count() or 1
        ceiling = cores / (synthpay_per_event + broker_per_event)
        rows.append(
            emit(
                "all_cores_ceiling_synthpay_eps",
                ceiling,
                "events/s",
                note=f"{cores} cores / (synthpay generating + broker CPU per event)",
            )
        )
        rows.append(
            emit(
                "all_cores_ceiling_client_loop_eps",
                cores / (client_cpu_per_event + broker_per_event),
                "events/s",
                note=f"{cores} cores / (bare loop + broker CPU per event)",
            )
        )

        two = synthpay(tmp, [*backfill, "--sink", "kafka", "--processes", "2"], kafka_env(config_file(tmp, f"{run}-p")))
        two_rate = generation_rate(two)
        rows.append(
            emit(
                "backfill_kafka_2_processes_eps",
                two_rate,
                "events/s",
                ">= 250000",
                two_rate >= 250_000,
                note="as for one process: the slower child's start-up excluded, its interpreter's not",
            )
        )
        rows.append(
            emit(
                "backfill_kafka_2_processes_whole_wall_eps",
                two.summary["delivered"] / two.wall_s,
                "events/s",
                note="whole wall time, every start-up included",
            )
        )

        realtime = [
            "--clock",
            "real",
            "--payments",
            str(args.realtime_payments),
            "--workers",
            str(args.realtime_payments),
            "--summary-interval",
            "60",
        ]
        ideal_s = (
            max(sum(delay for name, delay, _ in DEFAULT_STATUSES if name in steps) for steps, _ in DEFAULT_WORKFLOWS)
            / 1000
        )
        for sink in ("null", "kafka"):
            env = kafka_env(config_file(tmp, f"{run}-r{sink}")) if sink == "kafka" else {}
            base = synthpay(tmp, ["--clock", "real", "--payments", "1", "--workers", "1", "--sink", sink], env)
            rt = synthpay(tmp, [*realtime, "--sink", sink], env)
            s = rt.summary
            wall = s["elapsed_s"] - s["setup_s"]
            rows.append(
                emit(
                    f"realtime_{sink}_wall_vs_ideal",
                    wall / ideal_s,
                    "ratio",
                    "<= 1.2",
                    wall / ideal_s <= 1.2,
                    wall_s=round(wall, 3),
                    ideal_s=ideal_s,
                )
            )
            rows.append(emit(f"realtime_{sink}_lag_p50", s["lag_p50_ms"], "ms"))
            rows.append(emit(f"realtime_{sink}_lag_p99", s["lag_p99_ms"], "ms", "<= 20", s["lag_p99_ms"] <= 20))
            rows.append(emit(f"realtime_{sink}_lag_max", s["max_lag_ms"], "ms"))
            per = (s["peak_rss_mib"] - base.summary["peak_rss_mib"]) * 2**20 / max(1, s["peak_in_flight"])
            rows.append(
                emit(
                    f"realtime_{sink}_bytes_per_in_flight",
                    per,
                    "bytes",
                    "<= 512",
                    per <= 512,
                    peak_in_flight=s["peak_in_flight"],
                )
            )

        # History first, then live: the first 10 s after a one-hour backfill's seam are what a
        # dashboard fed by synthpay sees first. Only the live part has lag (a backfill's events
        # are due in the past by design), so the summary's percentiles are those 10 s and the
        # drain after the stop.
        s, backfill_s = handover(tmp, f"{run}-h", args.handover_rate, 10.0)
        note = "first 10 s live after 1 h of backfill, Kafka"
        rows.append(emit("handover_kafka_live_lag_p50", s["lag_p50_ms"], "ms", note=note))
        rows.append(
            emit(
                "handover_kafka_live_lag_p99",
                s["lag_p99_ms"],
                "ms",
                "<= 20",
                s["lag_p99_ms"] <= 20,
                rate=args.handover_rate,
                events=s["delivered"],
                backfill_s=round(backfill_s, 3),
            )
        )

        low, high, seconds = 1_000.0, args.ramp_to, 60.0
        progress, setup_s = ramp(tmp, f"{run}-ramp", low, high, seconds)
        strict, kept, broke = sustained(progress, setup_s, low, high, seconds)
        described = f"{low:.0f} to {high:.0f} payments/s over {seconds:.0f} s, real clock, Kafka"
        rows.append(
            emit(
                "ramp_kafka_sustained_lag_ok_payments_per_s",
                strict,
                "payments/s",
                "",
                None,
                ramp=described,
                first_second_over_20ms=broke,
            )
        )
        rows.append(
            emit(
                "ramp_kafka_starts_kept_payments_per_s",
                kept,
                "payments/s",
                "",
                None,
                ramp=described,
                note="every second started >= 95% of its target, whatever the lag",
            )
        )

    table(rows)


def table(rows: list[dict[str, Any]]) -> None:
    """Each figure beside its target."""
    print()
    print(f"{'figure':<36} {'value':>14} {'unit':<9} {'target':<10} ok")
    for row in rows:
        ok = "" if row["ok"] is None else ("yes" if row["ok"] else "NO")
        print(f"{row['figure']:<36} {row['value']:>14,.3f} {row['unit']:<9} {row['target']:<10} {ok}")


if __name__ == "__main__":
    main()
