"""Which run this is: its seed and run id, resolved once before anything starts.

A ``--processes`` parent resolves them and hands the same pair to every child, so the
children's records carry one run id and their RNG streams derive from one seed.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace

from synthpay.config.settings import RunSettings, Settings


@dataclass(frozen=True, slots=True)
class RunIdentity:
    """The seed every RNG stream derives from and the id every record carries."""

    seed: int
    run_id: str


def with_run_id(settings: Settings) -> Settings:
    """``settings`` with the run id drawn now if none was given: what is named after it
    (``{run_id}`` in ``file.dir``, ``run.summary_json``) is then known before the run."""
    return replace(settings, run=replace(settings.run, run_id=settings.run.run_id or str(uuid.uuid4())))


def resolve_identity(run: RunSettings) -> RunIdentity:
    """The configured seed and run id, or a random seed (logged in run_start) and a new UUID."""
    seed = run.seed if run.seed is not None else random.SystemRandom().getrandbits(32)
    return RunIdentity(seed, run.run_id or str(uuid.uuid4()))
