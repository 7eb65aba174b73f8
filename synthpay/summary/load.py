"""The one parser of ``--summary-json`` files: JSON to typed dataclasses, or one line saying what is wrong."""

from __future__ import annotations

import json
import types
from collections.abc import Mapping
from dataclasses import MISSING, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from synthpay.summary.document import SCHEMA_VERSION, Summary, SummaryError

TOPIC_COUNTS = ("emitted", "produced", "delivered", "failed")
_HINT = "write one with `synthpay run --summary-json PATH`"


class _Bad(Exception):
    """Where in the document (a dotted path) and what is wrong there."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where or 'the document'}: {problem}")


def load_summary(path: str | Path) -> Summary:
    """A summary written by ``--summary-json``; SummaryError names what is wrong with the file."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise SummaryError(f"summary {str(path)!r}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise SummaryError(f"summary {str(path)!r}: not JSON: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise SummaryError(f"summary {str(path)!r}: not JSON a summary can be: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and integers too long to convert
        raise SummaryError(f"summary {str(path)!r}: not JSON: {exc}") from None
    try:
        version = _version(data)
        if version > SCHEMA_VERSION:
            raise SummaryError(
                f"summary {str(path)!r}: version {version} is newer than this synthpay reads ({SCHEMA_VERSION}); "
                "upgrade synthpay to read it"
            )
        summary: Summary = _typed(data, Summary, "")
        _check_consistent(summary)
    except _Bad as exc:
        raise SummaryError(f"summary {str(path)!r}: not a synthpay run summary ({exc}); {_HINT}") from None
    return summary


def _version(data: Any) -> int:
    """The document's schema version; a summary written before the key existed is version 1."""
    if not isinstance(data, dict) or "version" not in data:
        return 1
    version: int = _scalar(data["version"], int, "version")
    if version < 1:
        raise _Bad("version", f"expected a whole number from 1, got {version}")
    return version


def _typed(value: Any, hint: Any, where: str) -> Any:
    """``value`` (parsed JSON) as an instance of the type ``hint``, or _Bad naming where it is not."""
    origin, args = get_origin(hint), get_args(hint)
    if isinstance(hint, type) and is_dataclass(hint):
        if not isinstance(value, dict):
            raise _Bad(where, "expected an object")
        hints = get_type_hints(hint)
        # A field with a default may be missing: it came after the summary's version.
        missing = [
            f.name
            for f in fields(hint)
            if f.name not in value and f.default is MISSING and f.default_factory is MISSING
        ]
        if missing:
            raise _Bad(_at(where, missing[0]), "missing")
        return hint(
            **{
                f.name: _typed(value[f.name], hints[f.name], _at(where, f.name))
                for f in fields(hint)
                if f.name in value
            }
        )
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _typed(value, next(a for a in args if a is not type(None)), where)
    if origin is Literal:
        if value not in args:
            raise _Bad(where, f"expected one of {', '.join(map(repr, args))}, got {_shown(value)}")
        return value
    if origin is Mapping:
        if not isinstance(value, dict):
            raise _Bad(where, "expected an object")
        return {k: _typed(v, args[1], _at(where, k)) for k, v in value.items()}
    if origin is tuple:
        if not isinstance(value, list) or (args[-1] is not Ellipsis and len(value) != len(args)):
            raise _Bad(where, "expected a list" if args[-1] is Ellipsis else f"expected a list of {len(args)}")
        kinds = [args[0]] * len(value) if args[-1] is Ellipsis else list(args)
        return tuple(_typed(v, kind, f"{where}[{i}]") for i, (v, kind) in enumerate(zip(value, kinds)))
    return _scalar(value, hint, where)


def _scalar(value: Any, hint: Any, where: str) -> Any:
    # bool is an int to Python, never to a summary.
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is str and isinstance(value, str):
        return value
    if hint is bool and isinstance(value, bool):
        return value
    expected = {int: "a whole number", float: "a number", str: "a string", bool: "true or false"}[hint]
    raise _Bad(where, f"expected {expected}, got {_shown(value)}")


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _shown(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "a list"
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_consistent(summary: Summary) -> None:
    """What the types alone do not say: the plan names only its own statuses, every topic has its counts."""
    plan = summary.plan
    for i, wf in enumerate(plan.workflows):
        for j, (status, _) in enumerate(wf.schedule):
            if status not in plan.statuses:
                raise _Bad(f"plan.workflows[{i}].schedule[{j}]", f"status {status!r} is not in plan.statuses")
    for topic, counts in summary.topics.items():
        missing = [name for name in TOPIC_COUNTS if name not in counts]
        if missing:
            raise _Bad(_at(_at("topics", topic), missing[0]), "missing")
