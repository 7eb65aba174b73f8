"""The one error that stops a verification."""

from __future__ import annotations


class VerifyError(Exception):
    """Verify cannot go on (an unreachable cluster or registry); one line for the user."""
