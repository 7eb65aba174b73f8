"""``{run_id}`` in a path setting (``file.dir``, ``run.summary_json``): checked when loaded,
filled in once the run id is known, so each run writes where no other run does.

Only ``{run_id}`` is a placeholder; a path without one is used as given.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from synthpay.config.parsers import Parser, text

RUN_ID = "{run_id}"
#: Anything in braces a placeholder could be mistyped as: ``{run-id}``, ``{runid}``, ``{}``.
_BRACED = re.compile(r"\{[\w-]*\}")


def _read(raw: object, is_text: bool) -> str:
    value = text.read(raw, is_text)
    if any(found != RUN_ID for found in _BRACED.findall(value)):
        raise ValueError
    return value


#: A path that may hold ``{run_id}``.
path_template: Parser[str] = Parser(f"a path; {RUN_ID} in it stands for the run id, and no other {{name}}", _read)


def expand(template: str, run_id: str) -> str:
    """``template`` with the run id in place of every ``{run_id}``."""
    return template.replace(RUN_ID, run_id)


def shared_parent(template: str) -> PurePath | None:
    """Where every run's directory lies when ``template``'s last part alone holds ``{run_id}``
    (``out`` for ``out/{run_id}``): the directory to keep a ``latest`` link in. Else None."""
    path = PurePath(template)
    if RUN_ID not in path.name or RUN_ID in str(path.parent):
        return None
    return path.parent
