"""The command line's grammar: ``run``, ``validate`` and ``preview`` take a flag for every declared setting."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from importlib.metadata import version
from typing import NoReturn, TypeVar

from synthpay.cli.exitcodes import ExitCode
from synthpay.cli.source_args import add_source_arguments
from synthpay.config import parsers
from synthpay.config.settings import Declaration, declarations
from synthpay.formats.values import RECORD_TYPES, REGISTERED


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # prog is "synthpay" or "synthpay run": the hint names the parser that failed.
        self.exit(ExitCode.USAGE, f"synthpay: error: {message} (see {self.prog} --help)\n")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The parsed command line; a usage error exits with ExitCode.USAGE, --help with OK."""
    return _parser().parse_args(argv)


_N = TypeVar("_N", int, float)


def _number(convert: Callable[[str], _N], least: _N, expected: str, *, above: bool = False) -> Callable[[str], _N]:
    """A flag's type: ``convert`` of the text, at least ``least`` (more than it when ``above``) and finite."""

    def parse(text: str) -> _N:
        value: _N | None
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or value != value or value == float("inf") or value < least or (above and value == least):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_seconds = _number(float, 0.0, "a number of seconds > 0", above=True)
_count = _number(int, 1, "a whole number of events >= 1")
_payments = _number(int, 1, "a whole number of payments >= 1")
_seed = _number(int, 0, "a whole number >= 0")
_threshold = _number(float, 0.0, "a number >= 0")


def _parser() -> argparse.ArgumentParser:
    files = _Parser(add_help=False)
    files.add_argument(
        "--config",
        action="append",
        metavar="PATH",
        help="TOML configuration; give it again to layer another file over it, the later file winning each "
        "setting it gives (default: ./config.toml if present; or SYNTHPAY_CONFIG)",
    )
    files.add_argument(
        "--scenario",
        metavar="NAME",
        help="a named scenario (see `synthpay scenarios`), layered over the configuration files and under "
        ".env, the environment and the flags (or SYNTHPAY_SCENARIO)",
    )
    files.add_argument("--env-file", metavar="PATH", help="dotenv file (default: ./.env if present)")
    common = _Parser(add_help=False, parents=[files])
    for declared in declarations():
        if declared.flag:
            # A true-or-false setting's flag given alone means true.
            switch = declared.parse is parsers.boolean
            common.add_argument(
                declared.flag,
                dest=declared.key,
                metavar=declared.metavar or "N",
                help=_flag_help(declared),
                nargs="?" if switch else None,
                const="true" if switch else None,
            )

    parser = _Parser(
        prog="synthpay",
        description="Synthetic payment-workflow events for Kafka pipelines. Settings come from "
        "config.toml, then a --scenario, then .env, then the environment, then these flags.",
    )
    parser.add_argument("--version", action="version", version=f"synthpay {version('synthpay')}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser(
        "run",
        parents=[common],
        help="generate events",
        description="Generate payment workflows and emit one event per status change.",
    )
    sub.add_parser(
        "validate",
        parents=[common],
        help="print the effective configuration (secrets masked)",
        description="Load and check the configuration, print it as JSON; exit 0 if valid, 2 if not.",
    )
    look = sub.add_parser(
        "preview",
        parents=[common],
        help="print a run's first payment events, with their headers; nothing is sent anywhere",
        description="Run the engine as `run` would, into neither Kafka nor files: print its first payment "
        "events with the headers the Kafka sink would give them (readable at a terminal, JSON lines "
        "otherwise), then stop. Under the virtual clock unless --follow or --clock says otherwise; "
        "logs at warning unless --log-level says otherwise.",
    )
    look.add_argument(
        "--count",
        type=_count,
        metavar="N",
        help="stop after N payment events (default 10; with --follow: no limit)",
    )
    look.add_argument("--banks", action="store_true", help="show the bank records too (they do not count)")
    look.add_argument(
        "--follow",
        action="store_true",
        help="go on live under the real clock, each event as it is emitted, until the run ends or Ctrl-C (exit 0)",
    )
    look.add_argument(
        "--format",
        choices=("auto", "pretty", "json"),
        default="auto",
        help="pretty, json (JSON lines, as --sink stdout writes them), or auto: pretty at a terminal (default auto)",
    )
    check = sub.add_parser(
        "verify",
        parents=[files],
        help="check a run's records against its --summary-json",
        description="Read the run's records back (a Kafka run's topics from the beginning, a file run's "
        ".avro files) and check them against the summary `run --summary-json` wrote: counts, workflows, "
        "order and timing, duplicates, bank references, schemas, phases and anomalies. Kafka's connection "
        "settings come from the usual configuration. Exit 0 if every check passes, 1 if one fails, 2 on bad usage.",
    )
    check.add_argument(
        "manifest",
        metavar="SUMMARY_JSON",
        help="the file `synthpay run --summary-json` wrote, or a run directory holding it as summary.json",
    )
    check.add_argument("--run-id", help="count only records with this run_id header (default: the summary's)")
    check.add_argument("--json", action="store_true", help="print the report as one JSON document")
    check.add_argument(
        "--timeout",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="give up after this long without a record (default 30)",
    )
    fitting = sub.add_parser(
        "fit",
        parents=[files],
        help="fit a configuration to payment status events: workflows, delays, arrivals, banks, dirty data, incidents",
        description="Read payment status events (a file sink directory, .avro, .csv, .jsonl or .parquet files, or "
        "kafka: the topics of the --config given) and write a complete, commented configuration that "
        "`synthpay run --config` runs as is (stdout, or --out FILE), with a fit report on stderr (--json FILE "
        "for machines). Nothing identifying is copied: no ids, amounts or bank names. Exit 0 when fitted, "
        "2 on an input that cannot be read (one line naming the file, the row and the problem).",
    )
    fitting.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="a file sink directory, a .avro/.csv/.jsonl/.parquet file, or kafka; several are read as one",
    )
    fitting.add_argument("--out", metavar="FILE", help="write the configuration to FILE (default: stdout)")
    fitting.add_argument("--json", metavar="FILE", help="also write the fit report as one JSON document to FILE")
    add_source_arguments(fitting)
    _compare(sub, files)
    shown = sub.add_parser(
        "scenarios",
        help="list the named scenarios, or print one",
        description="Without NAME, list every scenario `run --scenario NAME` accepts, one line each; "
        "with NAME, print its TOML (to copy, edit and run with --config).",
    )
    shown.add_argument("name", nargs="?", metavar="NAME", help="the scenario to print")
    schema = sub.add_parser(
        "schema",
        help="print the schema of each record type, in a value format",
        description="Print the schema a Kafka run registers for each record type in --format: the Avro "
        "schema as shipped (avro/*.avsc), or the one derived from it. With RECORD, that record type's alone "
        "(to save to a file); without, each under a '==> RECORD <==' line.",
    )
    schema.add_argument(
        "--format",
        choices=tuple(REGISTERED),
        default="avro",
        help="the kafka.value_format whose schemas to print (default avro; plain json registers none: its "
        "values follow json_schema's)",
    )
    schema.add_argument("record", nargs="?", choices=RECORD_TYPES, metavar="RECORD", help=", ".join(RECORD_TYPES))
    return parser


#: What each of ``compare``'s thresholds judges (a flag per field of Thresholds, --max-ks for max_ks).
THRESHOLD_HELP = {
    "max_ks": "largest two-sample Kolmogorov-Smirnov statistic between a status's delays in A and B",
    "min_mix_p": "smallest p-value of the chi-squared test that A and B share one workflow mix",
    "max_rate_diff": "largest difference in payments per hour (overall, and in each hour since each source's "
    "first event), relative to A's",
    "max_banks_diff": "largest difference in the number of banks, relative to A's",
    "max_top_share_diff": "largest difference in the busiest bank's share of bank references",
    "max_bank_ks": "largest gap between A's and B's cumulative bank shares, banks ranked busiest first",
    "max_anomaly_diff": "largest difference in each anomaly rate (duplicates and late per event, out of order "
    "and missing per payment)",
    "max_only_share": "largest share of payments on a status or path the other source does not have",
    "sigmas": "a difference within this many standard errors of sampling noise passes whatever the threshold "
    "(0: thresholds only)",
}


def _compare(sub: argparse._SubParsersAction[_Parser], files: _Parser) -> None:
    from synthpay.calibrate.compare import Thresholds
    from synthpay.cli.source_args import add_source_arguments

    both = sub.add_parser(
        "compare",
        parents=[files],
        help="set two sources side by side: delays, workflow mix, rates, banks, anomalies",
        description="Read two sources (or generate from a configuration) and compare them: per status the "
        "two-sample KS statistic on delays, chi-squared on the workflow mix, payments per hour, bank "
        "popularity and anomaly rates, each against a threshold. Prints a table (or --json); exit 0 if every "
        "check passes, 1 if one crosses its threshold, 2 on bad input.",
    )
    thing = (
        "a SOURCE (a file sink directory, a .avro, .csv, .jsonl or .parquet file, or kafka: the topics of "
        "--config) or a configuration to generate from (PATH.toml, or scenario:NAME)"
    )
    both.add_argument("a", metavar="A", help=f"{thing}; the reference, e.g. the real data")
    both.add_argument("b", metavar="B", help=f"{thing}; compared with A")
    both.add_argument(
        "--json",
        metavar="FILE",
        help="also write the comparison as one JSON document to FILE; - prints it instead of the table",
    )
    add_source_arguments(both)
    made = both.add_argument_group(
        "generating from a configuration",
        "a run with the file sink under the virtual clock, into a temporary directory",
    )
    made.add_argument(
        "--seed", dest="generate_seed", type=_seed, metavar="N", help="the runs' seed (default: the configuration's)"
    )
    made.add_argument(
        "--seed-b", dest="seed_b", type=_seed, metavar="N", help="B's seed, when it is to differ from --seed"
    )
    made.add_argument(
        "--payments",
        dest="generate_payments",
        type=_payments,
        metavar="N",
        help="payments per run (default: the configuration's)",
    )
    made.add_argument(
        "--start",
        dest="generate_start",
        metavar="TIME",
        help="the runs' start, ISO 8601 (default: the configuration's)",
    )
    limits = both.add_argument_group("thresholds")
    for name, default in Thresholds().__dataclass_fields__.items():
        value = default.default
        limits.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=_threshold,
            default=value,
            metavar="X",
            help=f"{THRESHOLD_HELP[name]} (default {value})",
        )


def _flag_help(declared: Declaration) -> str:
    """The declaration's help, its default, and the original generator's variable where it had one."""
    originals = [name for name in declared.aliases if not name.startswith("SYNTHPAY_")]
    shown = declared.help + (f" ({', '.join(originals)})" if originals else "")
    # A help that already says what the default means is not told it again.
    default = "" if "(default:" in declared.help else _written_default(declared)
    # argparse formats help with %: a literal one is doubled.
    return (shown + (f" (default: {default})" if default else "")).replace("%", "%%")


def _written_default(declared: Declaration) -> str:
    """The default as config.toml writes it; empty for none, and for a secret."""
    default = declared.default
    if declared.secret or default in ("", [], None):
        return ""
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(default)
