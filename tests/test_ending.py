"""The one mapping from an ending to an exit code, which a result reads rather than stores."""

from __future__ import annotations

import dataclasses
import signal

import pytest

from gate.ending import ExitCode, Outcome, exit_code, worst
from gate.kinds import JobKind, RunCommand
from gate.result import Result


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


@pytest.mark.parametrize(
    ("outcome", "code"),
    [(Outcome.SUCCEEDED, 3), (Outcome.FAILED, 1), (Outcome.TIMED_OUT, 2), (Outcome.CANCELLED, 143)],
)
def test_a_run_whose_outputs_were_lost_exits_3_only_where_it_would_have_exited_0(
    outcome: Outcome, code: int
) -> None:
    assert exit_code(outcome, signal.SIGTERM, outputs_written=False) == code


def test_a_result_holds_no_exit_code_of_its_own_but_the_one_its_ending_maps_to() -> None:
    assert "exit_code" not in {f.name for f in dataclasses.fields(Result)}
    for outcome in Outcome:
        for signum in (None, signal.SIGTERM, signal.SIGINT):
            result = Result(None, outcome, "x", signum=signum)
            assert result.exit_code == exit_code(outcome, signum)
            assert result.to_dict()["exit_code"] == int(exit_code(outcome, signum))


def test_a_run_kind_is_typed_and_written_as_its_name() -> None:
    assert Result(None, Outcome.SUCCEEDED, "x", job_kind="deploy").job_kind is RunCommand.DEPLOY
    assert Result(None, Outcome.SUCCEEDED, "x", job_kind="imagediff").job_kind is JobKind.IMAGE_DIFF
    assert Result(None, Outcome.SUCCEEDED, "x", job_kind=RunCommand.CHECK).to_dict()["job_kind"] == "check"
    assert Result(None, Outcome.SUCCEEDED, "x").to_dict()["job_kind"] == "imageupdate"
    assert Result(None, Outcome.SUCCEEDED, "x", job_kind="deploy").is_deploy
