"""Any value, for any setting, through any layer: a valid configuration or one line and exit 2.

Never a traceback, never a hang. ``validate`` goes through exactly the loader ``run`` uses;
a smaller property starts real runs with generated values, each bounded by a timeout.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from conftest import subprocess_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthpay import cli
from synthpay.config.settings import Declaration, declarations

DECLARED = declarations()
EDGES = [
    "",
    " ",
    "0",
    "-1",
    "1e308",
    "-1e308",
    "1e-9",
    "nan",
    "inf",
    "-inf",
    "1_000",
    "0x10",
    "true",
    "9" * 30,
    "2026-01-31T09:00:00Z",
    "http://",
    "kafka",
    "virtual",
    "PLAIN",
    "\t42\n",
]
text_values = (
    st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=24)
    | st.sampled_from(EDGES)
    | st.integers(min_value=-(2**70), max_value=2**70).map(str)
    | st.floats().map(repr)
)
toml_values = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats()
    | text_values
    | st.lists(st.integers(), max_size=2)
)
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _toml_literal(value: object) -> str:
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return json.dumps(value)  # JSON scalars, strings and lists of ints are TOML literals too


def _layer_args(d: Declaration, layer: str, value: object, cwd: Path) -> tuple[list[str], dict[str, str]]:
    """Put ``value`` into ``layer``; return the extra argv and environment."""
    if layer == "toml":
        table, _, leaf = d.key.rpartition(".")
        header = f"[{table}]\n" if table else ""
        (cwd / "config.toml").write_text(f"{header}{leaf} = {_toml_literal(value)}\n")
        return [], {}
    name = d.env[-1]
    if layer == "dotenv":
        (cwd / ".env").write_text(f"{name}={value}\n")
        return [], {}
    if layer == "env":
        return [], {name: str(value)}
    return [f"{d.flag}={value}"], {}


def _assert_one_line_or_valid(code: int, out: str, err: str, d: Declaration, layer: str) -> None:
    assert "Traceback" not in err
    if code == 0:
        assert err == "" and json.loads(out)
        return
    assert code == 2 and out == "", (code, err)
    assert err.count("\n") == 1 and err.startswith(("synthpay: config error: ", "synthpay: error: ")), err
    named = (d.key, *d.env, d.flag or d.key, ".env line", "config.toml")
    assert any(n in err for n in named), (layer, err)


@st.composite
def _cases(draw: st.DrawFn) -> tuple[Declaration, str, object]:
    d = draw(st.sampled_from(DECLARED))
    layer = draw(st.sampled_from(["toml", "dotenv", "env", *(["flag"] if d.flag else [])]))
    value = draw(toml_values if layer == "toml" else text_values)
    if layer == "env":
        value = str(value).replace("\x00", "")
    return d, layer, value


@PROPERTY
@given(_cases())
def test_any_value_in_any_layer_validates_or_fails_in_one_line(case: tuple[Declaration, str, object]) -> None:
    d, layer, value = case
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        argv, env = _layer_args(d, layer, value, cwd)
        out, err = io.StringIO(), io.StringIO()
        before, saved_env = os.getcwd(), dict(os.environ)
        os.chdir(cwd)
        os.environ.update(env)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = cli.main(["validate", *argv])
                except SystemExit as exc:  # argparse's own usage errors
                    code = int(exc.code or 0)
        finally:
            os.chdir(before)
            os.environ.clear()
            os.environ.update(saved_env)
    _assert_one_line_or_valid(code, out.getvalue(), err.getvalue(), d, layer)


# Pinned so every run is a short virtual-clock backfill; the rest is fair game.
PINNED = {
    "run.clock",
    "run.sink",
    "run.payments",
    "run.mode",
    "run.duration_s",
    "http.port",
    "run.processes",
    "run.summary_json",
    "file.dir",
    "run.log_level",
}
RUNNABLE = [d for d in DECLARED if d.key not in PINNED]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(RUNNABLE), text_values)
def test_a_run_with_any_value_ends_by_itself(d: Declaration, value: str) -> None:
    value = value.replace("\x00", "")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "synthpay",
                "run",
                "--clock",
                "virtual",
                "--sink",
                "null",
                "--payments",
                "30",
                "--log-level",
                "error",
            ],
            cwd=tmp,
            env=subprocess_env(**{d.env[0]: value}),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert "Traceback" not in proc.stderr
    if proc.returncode == 2:
        assert proc.stderr.count("\n") == 1 and d.env[0] in proc.stderr, proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr[-2000:]
