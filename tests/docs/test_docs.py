"""The docs cannot drift from the code: every name they use exists, every command they show runs.

Pages: README.md, docs/**/*.md, and the shipped scenarios' header comments. A command is a
line of a ``sh``, ``bash`` or ``console`` block (in ``console`` only the ``$ `` lines; in a
scenario's header, a comment line that starts with ``synthpay``), split at ``&&`` and ``;``.
Each page's commands run in order, as one reader would type them, in one fresh directory,
and then all again in the same directory: a command must exit with the code its trailing
``# ... exit N`` comment gives (0 when it gives none) both times. A block with a
``title="NAME"`` is a file the page's commands use: it is written into that directory
first. A command that cannot run here (it needs Docker, systemd or a cluster, or is the test
suite itself) is named in ``NOT_RUN_HERE`` with what runs it instead; one that runs for
minutes is named in ``SHORTENED`` with the flag that ends it sooner.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO_DIR, subprocess_env
from kafka_support import services

from synthpay import cli
from synthpay.config.settings import NOT_SETTINGS, NOT_SETTINGS_PREFIXES, declarations, sections, structured_keys

MARKDOWN = (REPO_DIR / "README.md", *sorted((REPO_DIR / "docs").rglob("*.md")))
SCENARIOS = tuple(sorted((REPO_DIR / "synthpay" / "scenarios").glob("*.toml")))
PAGES = (*MARKDOWN, *SCENARIOS)
ARCHITECTURE = REPO_DIR / "docs" / "explanation" / "architecture.md"
#: Pages whose dotted names are paths into a JSON document, not settings (`anomalies.phases`).
JSON_FIELD_PAGES = (REPO_DIR / "docs" / "reference" / "summary-json.md",)
VENV = Path(sys.executable).parent.parent
#: One page's walk, both rounds: generous, as a hung command fails the test rather than CI.
WALK_TIMEOUT_S = 600

#: Commands the docs show that cannot run in a test, by how they start, and what runs them instead.
NOT_RUN_HERE = {
    "python3 -m venv .venv": "scripts/test (what .ci/run calls) creates .venv from a clean checkout",
    ".venv/bin/pip install": "scripts/test installs the checkout into .venv",
    "scripts/test": ".ci/run runs it on a clean checkout",
    "scripts/deploy-check": ".ci/run runs it on a clean checkout",
    "scripts/services up": "scripts/test starts the services the same way",
    ".venv/bin/python bench/run.py": "run by hand: it prints figures for bench/RESULTS.md",
    "docker ": "scripts/deploy-check builds the image and runs it",
    "python3 -m venv /opt/synthpay": "scripts/deploy-check installs synthpay so in its systemd machine",
    "/opt/synthpay/bin/pip install": "scripts/deploy-check installs synthpay so in its systemd machine",
    "install ": "scripts/deploy-check installs the unit, its config and credentials so",
    "systemctl ": "scripts/deploy-check boots the unit under systemd",
    "journalctl ": "scripts/deploy-check reads the unit's journal",
    "kubectl ": "no cluster here: tests/deploy/test_deploy.py checks the manifests",
    "curl -s localhost:8080/metrics": "needs the kubectl port-forward before it (see kubectl)",
}


@dataclass(frozen=True)
class Shortened:
    """How the test ends sooner a command shown that runs for long."""

    before: str  # words the test puts before the command
    after: str  # flags the test adds after it


#: Live runs play 3 s and are stopped as Ctrl-C stops them (in-flight payments cut, exit 0).
_LIVE = Shortened("timeout --preserve-status -s INT 3", "--shutdown-grace 0")
#: Backfills write the first 5 minutes of their timeline.
_FIRST_MINUTES = Shortened("", "--duration 300")
#: Commands shown that run for a quarter of a minute or more (their pages say how long), by
#: their text. What that leaves out is tested elsewhere: each shipped scenario's whole
#: timeline runs into Kafka and passes verify in tests/integration/test_kafka_backfill.py.
SHORTENED = {
    "synthpay run --scenario acquirer-outage": _FIRST_MINUTES,
    "synthpay run --scenario acquirer-outage --summary-json outage.json": _FIRST_MINUTES,
    "synthpay run --scenario acquirer-outage --clock real": _LIVE,
    "synthpay run --scenario flash-sale": _FIRST_MINUTES,
    "synthpay run --scenario flash-sale --clock real": _LIVE,
    "synthpay run --scenario slow-settlement": _FIRST_MINUTES,
    "synthpay run --scenario slow-settlement --clock real": _LIVE,
    "synthpay run --scenario business-day": _FIRST_MINUTES,
    "synthpay run --scenario business-day --start 2026-03-03T00:00:00Z": _FIRST_MINUTES,
}

_FENCE = re.compile(r'^```(\w*)(?:[ \t]+title="([^"]+)")?[^\n]*\n(.*?)^```$', re.M | re.S)
_INLINE = re.compile(r"`([^`\n]+)`")
_ENV_ASSIGNMENT = re.compile(r"[A-Z_][A-Z0-9_]*=\S*")
_EXECUTABLE = re.compile(r"(?:\S*/)?synthpay")
_COMMAND_BREAK = re.compile(r"\s+(?:&&|;)\s+")
_EXIT = re.compile(r"\s#\s.*?\bexit (\d+)")
_COMMENT = re.compile(r"\s+#\s.*$")
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
_VARIABLE = re.compile(r"\bSYNTHPAY_[A-Z0-9_]*")
_SCENARIO_COMMAND = re.compile(r"^#\s+(synthpay\s.*)$", re.M)
#: What a page writes for the reader's own Kafka and registry; a test puts the services' there.
_KAFKA_ENV = ("KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_ENDPOINT")
_KAFKA_PLACEHOLDERS = ("localhost:9092", "http://localhost:8081")


@dataclass(frozen=True)
class Command:
    """One command as a page shows it: continuation lines joined, its comment dropped."""

    text: str
    background: bool  # ends in "&"
    exit_code: int

    @property
    def runs_synthpay(self) -> bool:
        words = [w for w in self.text.split() if not _ENV_ASSIGNMENT.fullmatch(w)]
        return bool(words) and (
            bool(_EXECUTABLE.fullmatch(words[0]))
            or words[:3] in (["python", "-m", "synthpay"], ["python3", "-m", "synthpay"])
        )

    @property
    def argv(self) -> str:
        """The synthpay invocation with its executable as ``synthpay`` (no environment), else ""."""
        if not self.runs_synthpay:
            return ""
        words = [w for w in self.text.split() if not _ENV_ASSIGNMENT.fullmatch(w)]
        rest = words[3:] if words[0].startswith("python") else words[1:]
        return " ".join(["synthpay", *rest])

    @property
    def not_run_because(self) -> str | None:
        return next((why for start, why in NOT_RUN_HERE.items() if self.text.startswith(start)), None)


@dataclass(frozen=True)
class Block:
    """A code block's commands, or a scenario header's."""

    where: str  # page:line
    commands: tuple[Command, ...]

    @property
    def needs_kafka(self) -> bool:
        """It points synthpay (or a consumer) at the reader's Kafka."""
        text = " ".join(c.text for c in self.commands)
        return any(name + "=" in text for name in _KAFKA_ENV) or any(p in text for p in _KAFKA_PLACEHOLDERS)


@dataclass(frozen=True)
class File:
    """A titled block: a file the page's commands read."""

    name: str
    text: str


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


def _commands(line: str) -> list[Command]:
    """The commands of one line; the exit code its comment gives is the last one's."""
    match = _EXIT.search(line)
    line = _COMMENT.sub("", line).strip()
    if not line or line.startswith("#"):
        return []
    background = line.endswith("&") and not line.endswith("&&")
    parts = [" ".join(p.split()) for p in _COMMAND_BREAK.split(line.removesuffix("&").strip())]
    last = len(parts) - 1
    return [
        Command(p, background and i == last, int(match[1]) if match and i == last else 0) for i, p in enumerate(parts)
    ]


def blocks(page: Path) -> list[Block]:
    """The blocks of commands ``page`` shows, in order."""
    text = page.read_text()
    if page.suffix == ".toml":
        header = text.split("\n[", 1)[0]
        commands = [c for line in _SCENARIO_COMMAND.findall(header) for c in _commands(line)]
        return [Block(f"{_relative(page)}:1", tuple(commands))] if commands else []
    found = []
    for fence in _FENCE.finditer(text):
        if fence[1] not in ("sh", "bash", "console") or fence[2]:
            continue
        commands = [c for line in _logical_lines(fence[1], fence[3]) for c in _commands(line)]
        if commands:
            found.append(Block(f"{_relative(page)}:{text.count(chr(10), 0, fence.start()) + 1}", tuple(commands)))
    return found


def files(page: Path) -> list[File]:
    """The page's titled blocks."""
    if page.suffix != ".md":
        return []
    return [File(fence[2], fence[3]) for fence in _FENCE.finditer(page.read_text()) if fence[2]]


ALL_COMMANDS = [c for page in PAGES for b in blocks(page) for c in b.commands]


@dataclass(frozen=True)
class Walkthrough:
    """A page's blocks of one kind (with or without Kafka), run in order in one directory, as a reader would."""

    page: Path
    needs_kafka: bool
    blocks: tuple[Block, ...]

    @property
    def name(self) -> str:
        return _relative(self.page) + ("-kafka" if self.needs_kafka else "")


def walkthroughs() -> list[Walkthrough]:
    """Every page's blocks, the Kafka ones apart so the others run without a broker."""
    found = []
    for page in PAGES:
        for kafka in (False, True):
            chosen = tuple(b for b in blocks(page) if b.needs_kafka == kafka)
            if any(c.not_run_because is None for b in chosen for c in b.commands):
                found.append(Walkthrough(page, kafka, chosen))
    return found


def _param(walk: Walkthrough) -> object:
    marks = [pytest.mark.kafka] if walk.needs_kafka else []
    return pytest.param(walk, id=walk.name, marks=marks)


def _with_services(text: str, kafka: dict[str, str]) -> str:
    """``text`` pointed at the test's services instead of the reader's localhost."""
    for name, value in kafka.items():
        text = re.sub(rf"\b{name}=\S+", f"{name}={shlex.quote(value)}", text)
    if kafka:
        text = text.replace("http://localhost:8081", kafka["SCHEMA_REGISTRY_ENDPOINT"])
        text = text.replace("localhost:9092", kafka["KAFKA_BOOTSTRAP_SERVERS"])
    return text


def script(walk: Walkthrough, kafka: dict[str, str]) -> str:
    """The walk as one bash script: each command checked, background ones stopped at the end."""
    lines = [
        "trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT",
        'expect() { rc=$?; [ "$rc" = "$1" ] || { echo "docs: $2: exit $rc, expected $1" >&2; exit 1; }; }',
    ]
    for block in walk.blocks:
        for command in block.commands:
            if command.not_run_because is not None:
                continue
            text = _with_services(command.text, kafka)
            if command.text in SHORTENED:
                short = SHORTENED[command.text]
                text = f"{short.before} {text} {short.after}"
            if command.background:
                lines.append(f"{text} &")
            else:
                lines += [text, f"expect {command.exit_code} {shlex.quote(f'{block.where}: {command.text}')}"]
    return "\n".join(lines) + "\n"


def _round(walk: Walkthrough, workdir: Path, env: dict[str, str], kafka: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "-c", script(walk, kafka)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=WALK_TIMEOUT_S,
    )
    return "" if done.returncode == 0 else done.stderr[-3000:]


@pytest.mark.parametrize("walk", [_param(w) for w in walkthroughs()])
def test_every_command_shown_runs_twice_in_one_directory(walk: Walkthrough, tmp_path: Path) -> None:
    kafka: dict[str, str] = {}
    env = subprocess_env(PATH=f"{VENV / 'bin'}:{subprocess_env()['PATH']}")
    if walk.needs_kafka:
        svc = services()
        kafka = {"KAFKA_BOOTSTRAP_SERVERS": svc.bootstrap, "SCHEMA_REGISTRY_ENDPOINT": svc.registry}
        # Kafka configured as the page tells the reader to; topics of its own, so the walk sees only what it wrote.
        env |= {**kafka, "SYNTHPAY_KAFKA_TOPIC_PREFIX": f"docs{uuid.uuid4().hex[:8]}."}
    (tmp_path / ".venv").symlink_to(VENV)
    for file in files(walk.page):
        (tmp_path / file.name).write_text(file.text)
    for round_ in ("first", "second"):
        failed = _round(walk, tmp_path, env, kafka)
        assert not failed, f"{walk.name}, {round_} round:\n{failed}"


@pytest.mark.parametrize("text", SHORTENED)
def test_each_command_shortened_is_still_shown(text: str) -> None:
    assert any(c.text == text for c in ALL_COMMANDS), f"no page shows {text!r} any more"


@pytest.mark.parametrize("start", NOT_RUN_HERE)
def test_each_command_not_run_here_is_still_shown(start: str) -> None:
    assert any(c.text.startswith(start) for c in ALL_COMMANDS), f"no page shows a command starting {start!r} any more"


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
    """``synthpay --help``, each command's, and the benchmark's (the performance page names its options)."""
    commands: tuple[list[str], ...] = ([], ["run"], ["validate"], ["preview"], ["verify"], ["fit"], ["compare"])
    bench = subprocess.run(
        [sys.executable, str(REPO_DIR / "bench" / "run.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
        env=subprocess_env(),
        timeout=60,
    )
    return "\n".join([*(_help(command) for command in commands), bench.stdout])


def unknown_keys(page: Path) -> set[str]:
    known = {d.key for d in declarations()} | set(structured_keys())
    return setting_keys_named(page) - known


def unknown_variables(page: Path, help_text: str) -> set[str]:
    known = {name for d in declarations() for name in d.env} | set(_VARIABLE.findall(help_text))
    known |= {*NOT_SETTINGS, *NOT_SETTINGS_PREFIXES}
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
