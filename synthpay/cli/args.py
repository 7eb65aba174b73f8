"""The command line's grammar: ``run`` and ``validate`` take a flag for every declared setting."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NoReturn

from synthpay.cli.exitcodes import ExitCode
from synthpay.config import parsers
from synthpay.config.settings import Declaration, declarations


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # prog is "synthpay" or "synthpay run": the hint names the parser that failed.
        self.exit(ExitCode.USAGE, f"synthpay: error: {message} (see {self.prog} --help)\n")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The parsed command line; a usage error exits with ExitCode.USAGE, --help with OK."""
    return _parser().parse_args(argv)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


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
    check = sub.add_parser(
        "verify",
        parents=[files],
        help="check a run's topics against its --summary-json",
        description="Consume the run's topics from the beginning and check them against the summary "
        "`run --summary-json` wrote: counts, workflows, order and timing, duplicates, bank references, "
        "schema ids. Connection settings come from the usual configuration. Exit 0 if every check "
        "passes, 1 if one fails, 2 on bad usage.",
    )
    check.add_argument("manifest", metavar="SUMMARY_JSON", help="the file `synthpay run --summary-json` wrote")
    check.add_argument("--run-id", help="count only records with this run_id header (default: the summary's)")
    check.add_argument(
        "--timeout",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="give up after this long without a record (default 30)",
    )
    shown = sub.add_parser(
        "scenarios",
        help="list the named scenarios, or print one",
        description="Without NAME, list every scenario `run --scenario NAME` accepts, one line each; "
        "with NAME, print its TOML (to copy, edit and run with --config).",
    )
    shown.add_argument("name", nargs="?", metavar="NAME", help="the scenario to print")
    return parser


def _flag_help(declared: Declaration) -> str:
    """The declaration's help, and the original generator's variable where it had one."""
    originals = [name for name in declared.aliases if not name.startswith("SYNTHPAY_")]
    return declared.help + (f" ({', '.join(originals)})" if originals else "")
