"""What GitLab and Jenkins users see beyond the reports: a gate deadline that GitLab's job limit
would cut off is refused up front; an id that is still a ``$VARIABLE`` says so; a deploy ends its
log with the chain as a table."""

from __future__ import annotations

import io
import re

import pytest

from gate.cli import main
from gate.config import parse_account_service_id, parse_job_id
from gate.ending import Outcome
from gate.errors import ConfigError
from gate.report.console import ConsoleReporter, deploy_table
from gate.report.gitlab import job_limit_problem
from gate.result import JobResult, Result
from tests.fakes import ACCESS, ASID, SECRET

GITLAB = {"GITLAB_CI": "true"}


def test_a_deadline_that_leaves_a_minute_under_the_job_limit_passes() -> None:
    assert job_limit_problem({**GITLAB, "CI_JOB_TIMEOUT": "3600"}, 59 * 60) is None
    assert job_limit_problem({**GITLAB, "CI_JOB_TIMEOUT": "2160"}, 30 * 60) is None  # 35m and 36m


def test_a_deadline_past_the_job_limit_is_refused_with_what_to_change() -> None:
    problem = job_limit_problem({**GITLAB, "CI_JOB_TIMEOUT": "3600"}, 2 * 3600)
    assert problem == (
        "timeout: 2h00m00s does not fit in this GitLab job's time limit of 1h00m00s "
        "(CI_JOB_TIMEOUT=3600), and a job killed at its limit leaves no result; raise the job's "
        "timeout (the component's job-timeout input) to at least 2h01m00s, or lower timeout"
    )
    # less than the minute of margin is refused too
    assert job_limit_problem({**GITLAB, "CI_JOB_TIMEOUT": "3600"}, 3600 - 30) is not None


@pytest.mark.parametrize(
    "env",
    [
        {"CI_JOB_TIMEOUT": "60"},  # not on GitLab
        {**GITLAB},  # no limit given
        {**GITLAB, "CI_JOB_TIMEOUT": ""},
        {**GITLAB, "CI_JOB_TIMEOUT": "1h"},  # not GitLab's form: not guessed at
        {**GITLAB, "CI_JOB_TIMEOUT": "0"},
    ],
)
def test_no_job_limit_is_assumed_where_gitlab_gives_none(env: dict[str, str]) -> None:
    assert job_limit_problem(env, 10 * 3600) is None


def test_the_cli_refuses_the_deadline_before_any_request_and_writes_its_result(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result_file = tmp_path / "result.json"
    dotenv = tmp_path / "gate.env"
    env = {
        **GITLAB,
        "CI_JOB_TIMEOUT": "3600",
        "CLANFORGE_ACCESS_KEY": ACCESS,
        "CLANFORGE_SECRET_KEY": SECRET,
        # nothing listens here: a request would be an error of another kind
        "CLANFORGE_API_URL": "http://127.0.0.1:9",
        "CLANFORGE_RESULT_FILE": str(result_file),
        "CLANFORGE_DOTENV_FILE": str(dotenv),
    }
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["--update-id", "11", "--account-service-id", ASID, "--timeout", "2h"],
        env=env,
        stdout=out,
        stderr=err,
    )
    assert code == 3
    assert "does not fit in this GitLab job's time limit of 1h00m00s" in err.getvalue()
    assert '"polls": 0' in result_file.read_text(encoding="utf-8")
    assert "CLANFORGE_OUTCOME=error" in dotenv.read_text(encoding="utf-8")


@pytest.mark.parametrize("value", ["$UPDATE_ID", "${UPDATE_ID}", "id-$CI_PIPELINE_ID"])
def test_an_id_that_is_still_a_variable_reference_says_so(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_job_id(value, "update_id")
    assert str(caught.value) == (
        f"update_id: {value!r} is not a job id; it must be a positive whole number "
        "(ASCII digits, at most 20); it looks like a "
        "CI variable that was not set: check that the job that makes it runs in an earlier stage "
        "(or is in needs:) and hands it on in its dotenv report"
    )
    with pytest.raises(ConfigError, match="looks like a CI variable that was not set"):
        parse_account_service_id("$ASID")


def test_a_plain_bad_id_gets_no_variable_hint() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_job_id("12a", "update_id")
    assert "variable" not in str(caught.value)


def _deploy_result() -> Result:
    jobs = (
        JobResult(
            "imageupdate", 30001, Outcome.SUCCEEDED, "", 5, "Complete", 100, polls=4, elapsed_seconds=3.0
        ),
        JobResult(
            "imagediff",
            40001,
            Outcome.FAILED,
            "",
            6,
            "Failed",
            62,
            job_error="diff failed:\nthe new files could not be compared",
            polls=3,
            elapsed_seconds=75.0,
        ),
    )
    return Result(
        None,
        Outcome.FAILED,
        "deploy of image 2003: stopped",
        polls=7,
        elapsed_seconds=78.0,
        job_kind="deploy",
        jobs=jobs,
    )


def test_the_deploy_table_has_a_row_per_step_and_a_total() -> None:
    lines = deploy_table(_deploy_result()).splitlines()
    assert re.split(r"\s{2,}", lines[0]) == [
        "step", "job", "outcome", "state", "progress", "requests", "waited", "job error",
    ]  # fmt: skip
    assert set(lines[1]) == {"-", " "}
    assert re.split(r"\s{2,}", lines[2]) == [
        "1",
        "image update 30001",
        "succeeded",
        "Complete (5)",
        "100%",
        "4",
        "3s",
    ]
    assert re.split(r"\s{2,}", lines[3]) == [
        "2", "image diff 40001", "failed", "Failed (6)", "62%", "3", "1m15s",
        "diff failed: the new files could not be compared",
    ]  # fmt: skip
    assert lines[4] == "deploy: failed (exit code 1), 2 steps, 7 requests in all, 1m18s"
    # the columns line up
    assert lines[2].index("succeeded") == lines[3].index("failed") == lines[0].index("outcome")


def test_the_console_ends_a_deploy_with_the_table_and_then_the_final_line() -> None:
    out = io.StringIO()
    ConsoleReporter(out, 0).end(_deploy_result())
    text = out.getvalue()
    assert text.startswith(deploy_table(_deploy_result()) + "\n")
    assert text.endswith("deploy of image 2003: stopped\n")
    quiet = io.StringIO()
    ConsoleReporter(quiet, -1).end(_deploy_result())
    assert quiet.getvalue() == "deploy of image 2003: stopped\n"
