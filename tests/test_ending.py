"""The one mapping from an ending to an exit code."""

from __future__ import annotations

import signal

import pytest

from gate.ending import ExitCode, Outcome, exit_code, worst


@pytest.mark.parametrize(
    ("outcome", "signum", "code"),
    [
        (Outcome.SUCCEEDED, None, 0),
        (Outcome.FAILED, None, 1),
        (Outcome.TIMED_OUT, None, 2),
        (Outcome.ERROR, None, 3),
        (Outcome.CANCELLED, signal.SIGTERM, 143),
        (Outcome.CANCELLED, signal.SIGINT, 130),
        (Outcome.CANCELLED, None, 130),
    ],
)
def test_each_ending_has_its_documented_code(outcome: Outcome, signum: int | None, code: int) -> None:
    assert exit_code(outcome, signum) == code
    assert isinstance(exit_code(outcome, signum), ExitCode)


def test_the_worst_outcome_speaks_for_several() -> None:
    assert worst([Outcome.SUCCEEDED, Outcome.TIMED_OUT, Outcome.FAILED]) is Outcome.FAILED
    assert worst([Outcome.TIMED_OUT, Outcome.ERROR]) is Outcome.ERROR
    assert worst([Outcome.SUCCEEDED, Outcome.CANCELLED]) is Outcome.CANCELLED
    assert worst([]) is Outcome.SUCCEEDED
