"""The docs cannot drift from the code: every name they use exists, every command they show runs.

Pages: README.md and docs/**/*.md. A command is a line of a ``sh``, ``bash`` or ``console``
block (in ``console`` only the ``$ `` lines) that runs the synthpay executable; it must exit
with the code its trailing ``# ... exit N`` comment gives (0 when it gives none), and again
when the page's commands run a second time in the same directory. A command
that cannot run here (it never ends, say) is named in ``COVERED_ELSEWHERE`` with the test
that runs it.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO_DIR, subprocess_env
from kafka_support import services, write_config

from synthpay import cli
from synthpay.config.settings import declarations, sections, structured_keys

PAGES = (REPO_DIR / "README.md", *sorted((REPO_DIR / "docs").rglob("*.md")))
ARCHITECTURE = REPO_DIR / "docs" / "explanation" / "architecture.md"
#: Pages whose dotted names are paths into a JSON document, not settings (`anomalies.phases`).
JSON_FIELD_PAGES = (REPO_DIR / "docs" / "reference" / "summary-json.md",)
SYNTHPAY = Path(sys.executable).parent / "synthpay"
COMMAND_TIMEOUT_S = 120

#: Commands the docs show that cannot run to an end here, and the test that runs them.
COVERED_ELSEWHERE = {
    "synthpay run --payments 0 --http-port 9464": (
        "tests/services/test_metrics.py::test_cli_serves_the_endpoint_while_running"
    ),
}

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
_INLINE = re.compile(r"`([^`\n]+)`")
_ENV_ASSIGNMENT = re.compile(r"[A-Z_][A-Z0-9_]*=\S*")
_EXECUTABLE = re.compile(r"(?:\S*/)?synthpay")
_SEGMENT_BREAK = re.compile(r"\s+(?:&&|\|\||;|\|)\s+")
_EXIT = re.compile(r"\s#\s.*?\bexit (\d+)")
_COMMENT = re.compile(r"\s+#\s.*$")
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
_VARIABLE = re.compile(r"\bSYNTHPAY_[A-Z0-9_]*")
_KAFKA_ENV = ("KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_ENDPOINT")


@dataclass(frozen=True)
class Command:
    """One synthpay invocation as a page shows it."""

    env: tuple[str, ...]  # NAME=value assignments before the executable
    argv: str  # "synthpay run ..." with the executable normalised, redirections kept
    background: bool  # ends in "&"
    exit_code: int


@dataclass(frozen=True)
class Block:
    """A code block that holds synthpay commands, run in order in one directory."""

    where: str  # page:line
    commands: tuple[Command, ...]

    @property
    def needs_kafka(self) -> bool:
        """It configures Kafka or reads a run back from it."""
        return any(c.argv.startswith("synthpay verify") or _kafka_env(c.env) for c in self.commands)


def _kafka_env(env: tuple[str, ...]) -> bool:
    return any(assignment.split("=", 1)[0] in _KAFKA_ENV for assignment in env)


def _relative(page: Path) -> str:
    return str(page.relative_to(REPO_DIR)) if page.is_relative_to(REPO_DIR) else page.name


def _logical_lines(lang: str, body: str) -> list[str]:
    """The block's command lines, continuations joined; in a console block only the ``$`` lines."""
    lines: list[str] = []
    pending = ""
    for raw in body.splitlines():
        if not pending and lang == "console":
            if not raw.startswith("$ "):
                continue
            raw = raw[2:]
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append(pending + raw)
        pending = ""
    return lines


def _command(segment: str, exit_code: int, background: bool) -> Command | None:
    words = segment.split()
    env = tuple(itertools.takewhile(_ENV_ASSIGNMENT.fullmatch, words))
    rest = words[len(env) :]
    if rest[:3] in (["python", "-m", "synthpay"], ["python3", "-m", "synthpay"]):
        rest = ["synthpay", *rest[3:]]
    if not rest or not _EXECUTABLE.fullmatch(rest[0]):
        return None
    return Command(env, " ".join(["synthpay", *rest[1:]]), background, exit_code)


def _commands(line: str) -> list[Command]:
    match = _EXIT.search(line)
    exit_code = int(match[1]) if match else 0
    line = _COMMENT.sub("", line).strip()
    background = line.endswith("&") and not line.endswith("&&")
    segments = _SEGMENT_BREAK.split(line.removesuffix("&").strip())
    last = len(segments) - 1
    found = [_command(s, exit_code, background and i == last) for i, s in enumerate(segments)]
    return [c for c in found if c]


def blocks(page: Path) -> list[Block]:
    """The blocks of ``page`` that run synthpay."""
    text = page.read_text()
    found = []
    for fence in _FENCE.finditer(text):
        if fence[1] not in ("sh", "bash", "console"):
            continue
        commands = [c for line in _logical_lines(fence[1], fence[2]) for c in _commands(line)]
        if commands:
            line_no = text.count("\n", 0, fence.start()) + 1
            found.append(Block(f"{_relative(page)}:{line_no}", tuple(commands)))
    return found


ALL_BLOCKS = [b for page in PAGES for b in blocks(page)]


@dataclass(frozen=True)
class Walkthrough:
    """A page's blocks of one kind (with or without Kafka), run in order in one directory, as a reader would."""

    page: str
    needs_kafka: bool
    blocks: tuple[Block, ...]


def walkthroughs() -> list[Walkthrough]:
    """Every page's blocks, the Kafka ones apart so the others run without a broker."""
    found = []
    for page in PAGES:
        for kafka in (False, True):
            chosen = tuple(b for b in blocks(page) if b.needs_kafka == kafka)
            if chosen:
                found.append(Walkthrough(_relative(page), kafka, chosen))
    return found


def _param(walk: Walkthrough) -> object:
    if walk.needs_kafka:
        return pytest.param(walk, id=f"{walk.page}-kafka", marks=[pytest.mark.kafka])
    return pytest.param(walk, id=walk.page)


def _shell_line(command: Command, kafka: dict[str, str]) -> str:
    env = [f"{name}={kafka.get(name, value)}" for name, value in (a.split("=", 1) for a in command.env)]
    return " ".join([*env, shlex.quote(str(SYNTHPAY)), command.argv.removeprefix("synthpay ")])


def _run(block: Block, command: Command, cwd: Path, kafka: dict[str, str]) -> None:
    assert not command.background, (
        f"{block.where}: {command.argv!r} runs in the background: list it in COVERED_ELSEWHERE"
    )
    done = subprocess.run(
        ["bash", "-c", _shell_line(command, kafka)],
        cwd=cwd,
        env=subprocess_env(**kafka),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
    )
    assert done.returncode == command.exit_code, f"{block.where}: {command.argv}\n{done.stderr[-2000:]}"


@pytest.mark.parametrize("walk", [_param(w) for w in walkthroughs()])
def test_every_command_in_the_docs_runs_with_the_exit_code_they_give(walk: Walkthrough, tmp_path: Path) -> None:
    kafka: dict[str, str] = {}
    if walk.needs_kafka:
        svc = services()
        kafka = {"KAFKA_BOOTSTRAP_SERVERS": svc.bootstrap, "SCHEMA_REGISTRY_ENDPOINT": svc.registry}
        write_config(tmp_path)  # fresh topics, as config.toml in the working directory
    # Twice over, in the same directory: a reader runs a command again, and nothing the
    # first pass left (files, a summary) may make the second fail.
    for _ in range(2):
        for block in walk.blocks:
            for command in block.commands:
                if command.argv not in COVERED_ELSEWHERE:
                    _run(block, command, tmp_path, kafka)


def test_each_command_covered_elsewhere_is_in_the_docs_and_its_test_exists() -> None:
    shown = {c.argv for b in ALL_BLOCKS for c in b.commands}
    for argv, node in COVERED_ELSEWHERE.items():
        assert argv in shown, f"no page shows {argv!r} any more"
        path, name = node.split("::")
        assert re.search(rf"^(async )?def {name}\(", (REPO_DIR / path).read_text(), re.M), node


# --- names: settings, variables, flags


def _prose(text: str) -> str:
    return _FENCE.sub("", text)


def _inline_code(page: Path) -> list[str]:
    return _INLINE.findall(_prose(page.read_text()))


def setting_keys_named(page: Path) -> set[str]:
    """Dotted keys in inline code whose first part is a settings table, e.g. ``run.payments``."""
    tables = "|".join(sections())
    key = re.compile(rf"(?:{tables})(?:\.[a-z_]+)+")
    return {span for span in _inline_code(page) if key.fullmatch(span)}


def variables_named(page: Path) -> set[str]:
    """Every ``SYNTHPAY_*`` name on the page; a name ending in ``_`` stands for a family (``SYNTHPAY_RUN_*``)."""
    return set(_VARIABLE.findall(page.read_text()))


def flags_named(page: Path) -> set[str]:
    """Flags in inline code that starts with one, and in every synthpay command the page shows."""
    spans = _inline_code(page)
    named = {m[0] for span in spans if (m := _FLAG.match(span))}
    commands = [s for s in spans if _EXECUTABLE.fullmatch(s.split()[0])]
    commands += [c.argv for b in blocks(page) for c in b.commands]
    return named | {flag for command in commands for flag in _FLAG.findall(command)}


def _help(command: list[str]) -> str:
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown), pytest.raises(SystemExit):
        cli.main([*command, "--help"])
    return shown.getvalue()


@pytest.fixture(scope="module")
def help_text() -> str:
    """``synthpay --help`` and each command's."""
    return "\n".join(_help(command) for command in ([], ["run"], ["validate"], ["verify"]))


def unknown_keys(page: Path) -> set[str]:
    known = {d.key for d in declarations()} | set(structured_keys())
    return setting_keys_named(page) - known


def unknown_variables(page: Path, help_text: str) -> set[str]:
    known = {name for d in declarations() for name in d.env} | set(_VARIABLE.findall(help_text))
    return {v for v in variables_named(page) if not (v.endswith("_") and any(k.startswith(v) for k in known))} - known


def unknown_flags(page: Path, help_text: str) -> set[str]:
    known = {d.flag for d in declarations() if d.flag} | set(_FLAG.findall(help_text))
    return flags_named(page) - known


@pytest.mark.parametrize("page", [p for p in PAGES if p not in JSON_FIELD_PAGES], ids=_relative)
def test_every_setting_key_named_exists(page: Path) -> None:
    assert unknown_keys(page) == set()


@pytest.mark.parametrize("page", PAGES, ids=_relative)
def test_every_synthpay_variable_named_exists(page: Path, help_text: str) -> None:
    assert unknown_variables(page, help_text) == set()


@pytest.mark.parametrize("page", PAGES, ids=_relative)
def test_every_flag_named_exists(page: Path, help_text: str) -> None:
    assert unknown_flags(page, help_text) == set()


def test_a_made_up_name_is_caught(tmp_path: Path, help_text: str) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Set `run.paymentz` or `SYNTHPAY_RUN_PAYMENTZ`, or pass `--paymentz 3`.\n\n"
        "```sh\nsynthpay run --clock virtual --no-such-flag\n```\n"
    )
    assert unknown_keys(page) == {"run.paymentz"}
    assert unknown_variables(page, help_text) == {"SYNTHPAY_RUN_PAYMENTZ"}
    assert unknown_flags(page, help_text) == {"--paymentz", "--no-such-flag"}


# --- the architecture page's package map


def modules() -> set[str]:
    """Every module and package under synthpay/, by its dotted name."""
    package = REPO_DIR / "synthpay"
    found = set()
    for path in package.rglob("*.py"):
        parts = path.relative_to(REPO_DIR).with_suffix("").parts
        found.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def package_map() -> set[str]:
    """The module names in backticks in the architecture page's "Package map" section."""
    text = ARCHITECTURE.read_text()
    section = text.split("\n## Package map\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`(synthpay(?:\.\w+)*)`", section))


def test_the_package_map_names_every_module_and_nothing_else() -> None:
    assert package_map() == modules()
