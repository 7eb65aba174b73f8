"""HTTP helpers for the metrics endpoint tests: free ports, plain GETs, the exposition parsed."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from conftest import subprocess_env
from prometheus_client.parser import text_string_to_metric_families


def families(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """{sample name: {labels: value}} from Prometheus text, parsed by the library's own parser."""
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_until_ready(base: str, proc: subprocess.Popen[Any]) -> None:
    """Poll ``base``/readyz until it answers 200 (the run's sink is open)."""
    deadline = time.monotonic() + 15
    while http_get_or_none(base + "/readyz") != 200:
        assert time.monotonic() < deadline and proc.poll() is None, "never became ready"
        time.sleep(0.05)


def http_get_or_none(url: str) -> int | None:
    try:
        return http_get(url)[0]
    except OSError:
        return None  # not listening yet


def serving_run(cwd: Path, port: int, *extra: str, capture: bool = False) -> subprocess.Popen[str]:
    """A continuous null-sink run serving /metrics on 127.0.0.1:``port`` until signalled.

    ``extra``: more flags; ``capture``: its stdout and stderr are pipes to read; otherwise
    they are discarded.
    """
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    flags = ["--payments", "0", "--sink", "null", "--http-port", str(port), "--shutdown-grace", "1", *extra]
    return subprocess.Popen(
        [sys.executable, "-m", "synthpay", "run", *flags],
        cwd=cwd,
        env=subprocess_env(SYNTHPAY_HTTP_HOST="127.0.0.1"),
        stdout=out,
        stderr=out,
        text=True,
    )
