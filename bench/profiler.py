"""Profiler figures: µs per event in ``profile`` alone, and peak memory, on a synthetic stream or a run.

Usage:
    .venv/bin/python bench/profiler.py synthetic [--events 1000000]
    .venv/bin/python bench/profiler.py run DIR     # a file-sink run (payment-*.avro)

The synthetic stream is made up front, so the time is the profiler's alone; a run's records
are read first too (with fastavro, as the Avro source would), then profiled. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path

from synthpay.calibrate.observations import Observation
from synthpay.calibrate.profiler import profile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

WORKFLOWS = (
    (("Initiated", "Validated", "Accounted", "Completed"), 6),
    (("Initiated", "Validated", "Accounted", "Failed"), 1),
    (("Initiated", "Validated", "Canceled"), 1),
    (("Initiated", "Rejected"), 2),
)


def synthetic(events: int, seed: int = 1) -> list[Observation]:
    """Payments started at 25 a second, steps 1 s apart on average, merged by time."""
    rng = random.Random(seed)
    paths = [p for p, _ in WORKFLOWS]
    weights = [w for _, w in WORKFLOWS]
    out: list[Observation] = []
    t = 1_796_648_775_000
    n = 0
    while len(out) < events:
        t += int(rng.expovariate(1 / 40))
        path = rng.choices(paths, weights)[0]
        pid = f"{n:08x}-aaaa-bbbb-cccc-{rng.getrandbits(48):012x}"
        n += 1
        src, dst = f"bank-{rng.randrange(20)}", f"bank-{rng.randrange(20)}"
        amount, currency = round(rng.uniform(1, 1e5), 2), "EUR"
        ts = t
        for status in path:
            out.append(Observation(pid, status, ts, ts, src, dst, amount, currency))
            ts += int(rng.expovariate(1 / 1000))
    out.sort(key=lambda o: o.arrival_ms)
    return out[:events]


def _avro_us(run: Path) -> float:
    """CPU µs per record to decode the run's payment files with fastavro: the reading the profiler rides on."""
    import fastavro

    t0 = time.process_time()
    n = 0
    for path in sorted(run.glob("payment-*.avro")):
        with path.open("rb") as f:
            for _ in fastavro.reader(f):
                n += 1
    return round((time.process_time() - t0) / n * 1e6, 3)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=("synthetic", "run"))
    parser.add_argument("dir", nargs="?")
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    t0 = time.perf_counter()
    if args.what == "synthetic":
        stream = synthetic(args.events)
        record_timestamps = True
    else:
        from calibrate.sink_runs import observations

        stream = list(observations(Path(args.dir)))
        record_timestamps = False
    read_s = time.perf_counter() - t0
    avro_us = _avro_us(Path(args.dir)) if args.dir else None
    before = peak_mib()
    t0 = time.process_time()
    result = profile(stream, (args.what,), record_timestamps)
    profile_s = time.process_time() - t0
    # A bare loop over the same stream, to judge the figure on a busy machine by.
    t0 = time.process_time()
    seen: dict[str, int] = {}
    for obs in stream:
        seen[obs[0]] = obs[3]
    loop_s = time.process_time() - t0
    print(
        json.dumps(
            {
                "events": len(stream),
                "read_s": round(read_s, 2),
                "profile_s": round(profile_s, 3),
                "us_per_event": round(profile_s / len(stream) * 1e6, 3),
                "bare_loop_us_per_event": round(loop_s / len(stream) * 1e6, 3),
                "fastavro_read_us_per_event": avro_us,
                "peak_rss_mib_before": round(before),
                "peak_rss_mib": round(peak_mib()),
                "payments": result.payments,
                "paths": len(result.paths),
                "open_at_end": result.open_at_end,
                "split": result.split,
            }
        )
    )


if __name__ == "__main__":
    main()
