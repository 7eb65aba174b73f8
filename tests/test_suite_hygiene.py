"""The suite's own rules: no test passes on empty data; every fixture has a concrete type.

An ``assert`` that sits only inside a ``for``/``while`` body, an ``if`` branch, an ``except``
handler or a ``case`` never runs when the loop sees nothing, the condition is false or nothing is
raised; ``all(...)`` and ``not any(...)`` are true on an empty iterable. Such a test stays green
when the code under test produces nothing at all. So each such block, and each ``all``/``not any``
in an assertion, needs a *guard*: an assertion that runs whenever the block is reached (at the
same or an enclosing level of the test, before or after the block) and shows that it did run.

What counts as a guard:

- ``for`` loop, or the first generator in ``all(...)``/``not any(...)``: an assertion that mentions
  what is iterated: ``assert rows``, ``assert len(rows) == 3``, ``assert rows[0] == ...``,
  ``assert any(... for r in rows)``, ``assert rows.keys() == {...}``. For ``x.items()``,
  ``x.values()`` and ``x.keys()`` that is ``x``; for ``sorted``, ``enumerate``, ``zip``, ``len``,
  ``range``, ``itertools.pairwise`` and the like it is their arguments; any other call must appear
  as it is. Also: an assertion on a name the loop body binds (a counter: ``seen += 1`` ...
  ``assert seen > 0``), or an ``else`` on the loop that asserts, calls ``pytest.fail`` or raises.
  A non-empty literal (``("a", "b")``, ``range(5000)``) or a module constant (an upper-case name
  such as ``STATUSES`` or ``entities.CURRENCIES``: fixed input, not output) needs none.
- ``while`` loop: the same, with its condition as what is iterated; ``while True`` needs none.
- ``if``: an ``else`` when both branches assert, fail or raise; an assertion that contains the
  condition itself (``assert "Validated" in ts``, ``assert any(<condition> for ...)``); an
  assertion on a name the branch binds (a counter); a ``break`` in the branch out of a loop whose
  ``else`` fails; or a condition that reads only the test's ``parametrize`` arguments (it picks a
  case, it does not filter data).
- ``except`` handler: an assertion on a name it binds, or a ``try`` whose body ends in, or whose
  ``else`` does, ``pytest.fail`` or ``raise``.

An assertion does not guard with what it mentions inside ``all(...)`` or ``not any(...)``, since
both are true on nothing. Only functions named ``test_*`` are checked; functions and lambdas nested
in them are skipped, and so are the helpers they call.

A fixture's return annotation (mypy strict asks for one) must not be ``Any`` or hold ``Any`` as
the whole of an element: ``tuple[Any, Path]`` and ``Iterator[Any]`` fail, while
``dict[str, Any]`` (a JSON document, an Avro record) passes.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent

# Calls whose iterable is empty when their arguments are: a guard on the arguments will do.
_TRANSPARENT = frozenset(
    {"sorted", "list", "tuple", "set", "frozenset", "reversed", "enumerate", "zip", "iter", "dict", "len", "range"}
    | {"itertools.pairwise", "pairwise"}
)
_VIEWS = frozenset({"items", "values", "keys"})
# Generic types whose arguments are what a fixture hands over (not the values of a mapping).
_CARRIERS = frozenset({"tuple", "Iterator", "AsyncIterator", "Generator", "AsyncGenerator", "Iterable"})


@dataclass(frozen=True)
class Block:
    """A block whose assertions may never run, and the ids of the blocks it sits inside."""

    node: ast.AST
    outer: tuple[int, ...]
    breaks_are_checked: bool  # a ``break`` in it skips a loop ``else`` that asserts or fails


@dataclass(frozen=True)
class Assertion:
    """An assert statement and the ids of the blocks it sits inside."""

    node: ast.Assert
    inside: tuple[int, ...]


@dataclass(frozen=True)
class Finding:
    """One unguarded block in one test function."""

    line: int
    function: str
    what: str


@dataclass(frozen=True)
class _Walk:
    """What one pass over a test function's body collects."""

    blocks: dict[int, Block] = field(default_factory=dict)
    assertions: list[Assertion] = field(default_factory=list)

    def add(self, node: ast.AST, inside: tuple[int, ...], breaks_are_checked: bool) -> tuple[int, ...]:
        self.blocks[id(node)] = Block(node, inside, breaks_are_checked)
        return (*inside, id(node))


def _walk(body: Sequence[ast.stmt], inside: tuple[int, ...], checked: bool, found: _Walk) -> None:
    """Collect assertions and blocks; ``checked``: the innermost loop's ``else`` asserts or fails."""
    for stmt in body:
        if isinstance(stmt, ast.Assert):
            found.assertions.append(Assertion(stmt, inside))
        elif isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            _walk(stmt.body, found.add(stmt, inside, checked), _checks(stmt.orelse), found)
            _walk(stmt.orelse, inside, checked, found)  # it runs whenever the loop ends without a break
        elif isinstance(stmt, ast.If):
            branch = found.add(stmt, inside, checked)
            _walk(stmt.body, branch, checked, found)
            _walk(stmt.orelse, branch, checked, found)
        elif isinstance(stmt, (ast.Try, ast.TryStar)):
            _walk([*stmt.body, *stmt.orelse, *stmt.finalbody], inside, checked, found)
            expected = _fails(stmt.body[-1:]) or _fails(stmt.orelse)
            for handler in stmt.handlers:
                _walk(handler.body, inside if expected else found.add(handler, inside, checked), checked, found)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            _walk(stmt.body, inside, checked, found)
        elif isinstance(stmt, ast.Match):
            for case in stmt.cases:
                _walk(case.body, found.add(case, inside, checked), checked, found)


def _checks(body: Sequence[ast.stmt]) -> bool:
    """The statements assert, call ``pytest.fail`` or raise."""
    return _fails(body) or any(isinstance(n, ast.Assert) for stmt in body for n in ast.walk(stmt))


def _fails(body: Sequence[ast.stmt]) -> bool:
    """The statements call ``pytest.fail`` or raise."""
    nodes = [n for stmt in body for n in ast.walk(stmt)]
    return any(isinstance(n, ast.Raise) or (isinstance(n, ast.Call) and _chain(n.func) == "pytest.fail") for n in nodes)


def _breaks(body: Sequence[ast.stmt]) -> bool:
    """A ``break`` that leaves the enclosing loop (not one of a nested loop)."""
    todo = list(body)
    while todo:
        stmt = todo.pop()
        if isinstance(stmt, ast.Break):
            return True
        if isinstance(stmt, ast.If):
            todo.extend([*stmt.body, *stmt.orelse])
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            todo.extend(stmt.body)
    return False


def _chain(node: ast.AST) -> str | None:
    """``a.b["c"][]`` for a name, attribute or subscript path (an index that is not a literal is ``[]``)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Subscript):
        root = _chain(node.value)
        index = repr(node.slice.value) if isinstance(node.slice, ast.Constant) else ""
        return None if root is None else f"{root}[{index}]"
    if isinstance(node, ast.Attribute):
        root = _chain(node.value)
        return None if root is None else f"{root}.{node.attr}"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _is_view(node):
        return _chain(node.func.value)
    return None


def _is_view(call: ast.Call) -> bool:
    return isinstance(call.func, ast.Attribute) and call.func.attr in _VIEWS and not call.args and not call.keywords


def _call_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id
    return None


def _subjects(node: ast.expr) -> Iterator[ast.expr]:
    """What an iterable is empty without: through transparent calls, their arguments."""
    if isinstance(node, ast.Call) and _chain(node.func) in _TRANSPARENT:
        for arg in node.args:
            yield from _subjects(arg)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _is_view(node):
        yield from _subjects(node.func.value)
    else:
        yield node


def _fixed(node: ast.expr) -> bool:
    """A non-empty literal (``(1, 2)``, ``range(5000)``) or a module constant (``STATUSES``)."""
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return bool(node.elts)
    if isinstance(node, ast.Dict):
        return bool(node.keys)
    if isinstance(node, ast.Constant):
        return bool(node.value)
    if isinstance(node, ast.Call) and _call_name(node) == "range":
        bounds = [arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, int)]
        return len(bounds) == len(node.args) and bool(range(*bounds))
    chain = _chain(node)
    return chain is not None and chain.split("[", 1)[0].rsplit(".", 1)[-1].isupper()


def _vacuous(node: ast.AST) -> bool:
    """``all(...)`` or ``not any(...)``: true on an empty iterable."""
    if _call_name(node) == "all":
        return True
    return isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and _call_name(node.operand) == "any"


def _mentions(test: ast.expr) -> Iterator[ast.AST]:
    """Every subexpression of an assertion that can guard: all but those in ``all``/``not any``."""
    todo: list[ast.AST] = [test]
    while todo:
        node = todo.pop()
        if not _vacuous(node):
            yield node
            todo.extend(ast.iter_child_nodes(node))


def _mentions_subject(test: ast.expr, subject: ast.expr) -> bool:
    """The assertion reads the subject: its path (or a longer one), or the same expression."""
    wanted, shape = _chain(subject), ast.dump(subject)
    for node in _mentions(test):
        chain = _chain(node)
        if wanted is not None and chain is not None and chain.startswith(wanted):
            rest = chain[len(wanted) :]
            if rest == "" or rest[0] in ".[":
                return True
        if ast.dump(node) == shape:
            return True
    return False


def _bound(body: Sequence[ast.stmt]) -> set[str]:
    return {n.id for stmt in body for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _mentions_names(test: ast.expr, names: set[str]) -> bool:
    return any(isinstance(node, ast.Name) and node.id in names for node in _mentions(test))


def _mentions_bound(test: ast.expr, body: Sequence[ast.stmt]) -> bool:
    """The assertion reads a name the block binds (a counter, a value it found)."""
    return _mentions_names(test, _bound(body))


def _iterable_guarded(iterable: ast.expr, guards: list[ast.expr]) -> bool:
    return all(_fixed(s) or any(_mentions_subject(g, s) for g in guards) for s in _subjects(iterable))


def _parametrized(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The argument names of the function's ``pytest.mark.parametrize`` decorators."""
    names: set[str] = set()
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call) and _chain(decorator.func) == "pytest.mark.parametrize" and decorator.args:
            first = decorator.args[0]
            values = first.elts if isinstance(first, (ast.List, ast.Tuple)) else [first]
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    names.update(name.strip() for name in value.value.split(","))
    return names


def _selects_a_case(test: ast.expr, cases: set[str]) -> bool:
    """The condition reads only parametrize arguments and literals: it picks a case, not data."""
    names = {n.id for n in ast.walk(test) if isinstance(n, ast.Name)}
    return bool(names) and names <= cases


def _guarded(block: Block, guards: list[ast.expr], cases: set[str]) -> bool:
    node = block.node
    if isinstance(node, (ast.For, ast.AsyncFor)):
        return (
            _checks(node.orelse)
            or _iterable_guarded(node.iter, guards)
            or any(_mentions_bound(g, node.body) for g in guards)
        )
    if isinstance(node, ast.While):
        return (
            _fixed(node.test)
            or _checks(node.orelse)
            or any(_mentions_subject(g, node.test) or _mentions_bound(g, node.body) for g in guards)
        )
    if isinstance(node, ast.If):
        shape = ast.dump(node.test)
        return (
            (_checks(node.body) and _checks(node.orelse))
            or (block.breaks_are_checked and _breaks(node.body))
            or _selects_a_case(node.test, cases)
            or any(_mentions_bound(g, node.body) or any(ast.dump(n) == shape for n in _mentions(g)) for g in guards)
        )
    if isinstance(node, ast.ExceptHandler):
        bound = {node.name} if node.name else set()
        return any(_mentions_bound(g, node.body) or _mentions_names(g, bound) for g in guards)
    return False


def _describe(node: ast.AST) -> str:
    kinds = {ast.For: "for loop", ast.AsyncFor: "for loop", ast.While: "while loop", ast.If: "if"}
    kind = kinds.get(type(node), "except handler" if isinstance(node, ast.ExceptHandler) else "case")
    return f"the {kind} holds assertions, but nothing asserts that it ran"


def _generator_guarded(node: ast.AST, guards: list[ast.expr]) -> bool:
    call = node.operand if isinstance(node, ast.UnaryOp) else node
    assert isinstance(call, ast.Call)
    if not call.args or not isinstance(call.args[0], (ast.GeneratorExp, ast.ListComp, ast.SetComp)):
        return True  # all(flags): the guard rule is for the loop that filled them
    return _iterable_guarded(call.args[0].generators[0].iter, guards)


def check_function(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[Finding]:
    """The unguarded blocks and ``all``/``not any`` (see the module docstring) in one test function."""
    found = _Walk()
    _walk(function.body, (), False, found)
    cases = _parametrized(function)
    findings: dict[int, Finding] = {}

    def guards(outer: tuple[int, ...]) -> list[ast.expr]:
        return [a.node.test for a in found.assertions if a.inside == outer[: len(a.inside)]]

    for assertion in found.assertions:
        for block_id in assertion.inside:
            block = found.blocks[block_id]
            if block_id not in findings and not _guarded(block, guards(block.outer), cases):
                line = getattr(block.node, "lineno", 0)
                findings[block_id] = Finding(line, function.name, _describe(block.node))
        for node in ast.walk(assertion.node.test):
            if _vacuous(node) and not _generator_guarded(node, guards(assertion.inside)):
                what = "all()/not any() is true on nothing, but nothing asserts that it saw an item"
                findings[id(node)] = Finding(getattr(node, "lineno", 0), function.name, what)
    return sorted(findings.values(), key=lambda f: f.line)


def check_source(source: str) -> list[Finding]:
    """The findings in every ``test_*`` function of one module's source."""
    findings: list[Finding] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
            findings.extend(check_function(node))
    return findings


# Each flagged once, on the line marked "# here".
UNGUARDED = {
    "loop": """
        def test_rows():
            rows = load()
            for row in rows:  # here
                assert row.ok
    """,
    "loop guarded on something else": """
        def test_rows(summary):
            assert summary.total == 3
            for row in summary.rows:  # here
                assert row.ok
    """,
    "branch": """
        def test_rows():
            for row in ROWS:
                if row.late:  # here
                    assert row.ts > 0
    """,
    "inner loop": """
        def test_rows():
            rows = load()
            assert rows
            for row in rows:
                for event in row.events:  # here
                    assert event.ok
    """,
    "all()": """
        def test_rows():
            rows = load()
            assert all(r.ok for r in rows)  # here
    """,
    "not any()": """
        def test_rows():
            rows = load()
            assert all(rows)
            assert not any(r.bad for r in rows)  # here
    """,
    "while": """
        def test_rows(queue):
            while queue:  # here
                assert queue.pop().ok
    """,
    "except": """
        def test_rows():
            try:
                load()
            except ValueError as error:  # here
                assert "bad" in str(error)
    """,
    "a break without a failing else": """
        def test_rows():
            for row in ROWS:
                if row.late:  # here
                    assert row.ts > 0
                    break
    """,
    "the guard is inside the loop it guards": """
        def test_rows():
            for row in load():  # here
                assert load()
    """,
}

GUARDED = {
    "length": """
        def test_rows():
            rows = load()
            for row in rows:
                assert row.ok
            assert len(rows) == 3
    """,
    "a view of a subscript": """
        def test_rows(summary):
            assert summary["rows"]
            for key, row in sorted(summary["rows"].items()):
                assert row.ok
    """,
    "any() over the condition": """
        def test_rows():
            rows = load()
            assert any(r.late for r in rows)
            for r in rows:
                if r.late:
                    assert r.ts > 0
    """,
    "a counter": """
        def test_rows():
            late = 0
            for r in load():
                if r.late:
                    assert r.ts > 0
                    late += 1
            assert late > 0
    """,
    "the loop's else fails": """
        def test_rows():
            for r in load():
                if r.late:
                    assert r.ts > 0
                    break
            else:
                pytest.fail("none late")
    """,
    "both branches assert": """
        def test_rows(row):
            if row.late:
                assert row.ts > 0
            else:
                assert row.ts == 0
    """,
    "literals and constants": """
        def test_rows():
            for kind in ("a", "b"):
                assert kind
            for status in STATUSES:
                assert status
            assert all(draw() < 1 for _ in range(100))
    """,
    "a parametrized case": """
        @pytest.mark.parametrize("status, body", [(200, b"ok"), (405, b"")])
        def test_rows(status, body):
            if status == 405:
                assert body == b""
    """,
    "an expected exception": """
        def test_rows():
            try:
                load()
                pytest.fail("no error")
            except ValueError as error:
                assert "bad" in str(error)
    """,
    "all() beside its own guard": """
        def test_rows():
            rows = load()
            assert rows and all(r.ok for r in rows)
    """,
}


@pytest.mark.parametrize("source", UNGUARDED.values(), ids=list(UNGUARDED))
def test_an_unguarded_block_is_found_on_its_line(source: str) -> None:
    code = textwrap.dedent(source)
    line = next(n for n, text in enumerate(code.splitlines(), 1) if text.endswith("# here"))
    assert [(f.line, f.function) for f in check_source(code)] == [(line, "test_rows")]


@pytest.mark.parametrize("source", GUARDED.values(), ids=list(GUARDED))
def test_a_guarded_block_passes(source: str) -> None:
    assert check_source(textwrap.dedent(source)) == []


def test_only_test_functions_are_checked() -> None:
    helper = "def check(rows):\n    for row in rows:\n        assert row.ok\n"
    assert check_source(helper) == []
    assert len(check_source(helper.replace("def check", "def test_check"))) == 1


def _is_fixture(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    targets = [d.func if isinstance(d, ast.Call) else d for d in function.decorator_list]
    return any(_chain(target) == "pytest.fixture" for target in targets)


def _vague(annotation: ast.expr | None) -> bool:
    """No annotation, ``Any``, or ``Any`` as an element of a tuple or an iterator."""
    if annotation is None or _chain(annotation) in {"Any", "typing.Any"}:
        return True
    if isinstance(annotation, ast.Subscript) and (_chain(annotation.value) or "").rsplit(".", 1)[-1] in _CARRIERS:
        inner = annotation.slice
        return any(_vague(e) for e in (inner.elts if isinstance(inner, ast.Tuple) else [inner]) if e is not None)
    return False


def vague_fixtures(source: str) -> list[str]:
    """The fixtures in one module's source whose return type is missing or ``Any`` (module docstring)."""
    functions = [n for n in ast.walk(ast.parse(source)) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return [f.name for f in functions if _is_fixture(f) and _vague(f.returns)]


def test_a_fixture_typed_any_is_found() -> None:
    source = textwrap.dedent("""
        @pytest.fixture(scope="module")
        def run() -> tuple[Any, Path]: ...
        @pytest.fixture
        def plugin() -> Iterator[Any]: ...
        @pytest.fixture
        def bare(): ...
        @pytest.fixture
        def document() -> dict[str, Any]: ...
        def helper() -> Any: ...
    """)
    assert vague_fixtures(source) == ["run", "plugin", "bare"]


def test_every_fixture_returns_a_concrete_type() -> None:
    paths = sorted(TESTS_DIR.rglob("*.py"))
    assert len(paths) > 30
    assert [f"{p.relative_to(TESTS_DIR)}: {name}" for p in paths for name in vague_fixtures(p.read_text())] == []


def test_no_test_passes_because_a_loop_or_branch_saw_nothing() -> None:
    paths = sorted(TESTS_DIR.rglob("test_*.py"))
    assert len(paths) > 30
    problems = [
        f"{p.relative_to(TESTS_DIR)}:{f.line}: {f.function}: {f.what}"
        for p in paths
        for f in check_source(p.read_text())
    ]
    assert problems == []
