"""How a run ends: its outcome, and the one mapping from an ending to an exit code.

Pure. Every command (``wait``, ``deploy``, ``check``, ``demo``, ``simulate``) ends through
``exit_code``; nothing else in the code writes an exit code as a number.
"""

from __future__ import annotations

import enum
import signal
from collections.abc import Iterable


class Outcome(str, enum.Enum):
    """How a job, or a whole run, ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    ERROR = "error"
    CANCELLED = "cancelled"


class ExitCode(enum.IntEnum):
    """The documented exit codes."""

    SUCCEEDED = 0
    FAILED = 1
    TIMED_OUT = 2
    ERROR = 3
    SIGINT = 130
    SIGTERM = 143


_BY_OUTCOME = {
    Outcome.SUCCEEDED: ExitCode.SUCCEEDED,
    Outcome.FAILED: ExitCode.FAILED,
    Outcome.TIMED_OUT: ExitCode.TIMED_OUT,
    Outcome.ERROR: ExitCode.ERROR,
}

# Which outcome speaks for a run of several jobs: the first one present in this order.
OUTCOME_PRIORITY = (Outcome.ERROR, Outcome.FAILED, Outcome.TIMED_OUT, Outcome.CANCELLED, Outcome.SUCCEEDED)


def exit_code(outcome: Outcome, signum: int | None = None) -> ExitCode:
    """The exit code of an ending. A cancelled run exits 143 for SIGTERM and 130 otherwise."""
    if outcome is Outcome.CANCELLED:
        return ExitCode.SIGTERM if signum == signal.SIGTERM else ExitCode.SIGINT
    return _BY_OUTCOME[outcome]


def worst(outcomes: Iterable[Outcome]) -> Outcome:
    """The outcome that speaks for several: error > failed > timed out > cancelled > succeeded."""
    present = set(outcomes)
    return next((o for o in OUTCOME_PRIORITY if o in present), Outcome.SUCCEEDED)
