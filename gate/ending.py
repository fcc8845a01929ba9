"""How a run ends: its outcome, and the one mapping from an ending to an exit code.

Pure. Every command (``wait``, ``deploy``, ``check``, ``demo``, ``simulate``) ends through
``exit_code``; nothing else in the code writes an exit code as a number.
"""

from __future__ import annotations

import enum
import signal
from collections.abc import Iterable


class Outcome(str, enum.Enum):
    """How a job, or a whole run, ended; the value is what the outputs and the result file say."""

    SUCCEEDED = "succeeded"
    """The job answered Complete (state 5, its name agreeing, no error): exit 0."""
    FAILED = "failed"
    """The job ended badly (Failed or Squashed, Complete with an error of its own, or machines
    that failed their install): exit 1."""
    TIMED_OUT = "timed_out"
    """The deadline came first; the job may still be running: exit 2."""
    ERROR = "error"
    """The gate could not tell (bad settings, credentials refused, an unknown id, a malformed
    answer, the API down past the retries): exit 3."""
    CANCELLED = "cancelled"
    """A signal stopped the run: exit 143 on SIGTERM, 130 otherwise."""


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


def exit_code(outcome: Outcome, signum: int | None = None, *, outputs_written: bool = True) -> ExitCode:
    """The exit code of an ending. A cancelled run exits 143 for SIGTERM and 130 otherwise.

    A run whose outputs could not all be written exits 3 where it would have exited 0 (a later
    step would read a missing or stale output); any other run keeps its own code.
    """
    if outcome is Outcome.CANCELLED:
        return ExitCode.SIGTERM if signum == signal.SIGTERM else ExitCode.SIGINT
    code = _BY_OUTCOME[outcome]
    return ExitCode.ERROR if code is ExitCode.SUCCEEDED and not outputs_written else code


def worst(outcomes: Iterable[Outcome]) -> Outcome:
    """The outcome that speaks for several: error > failed > timed out > cancelled > succeeded."""
    present = set(outcomes)
    return next((o for o in OUTCOME_PRIORITY if o in present), Outcome.SUCCEEDED)
