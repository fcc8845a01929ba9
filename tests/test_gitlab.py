"""GitLab CI: section markers and the dotenv report, read back as GitLab reads them."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from gate import config
from gate.ending import Outcome
from gate.kinds import JobKind
from gate.report import FanOut
from gate.report.console import ConsoleReporter
from gate.report.dotenv import DOTENV_MAX_BYTES, DotenvReporter, dotenv_report, dotenv_value, dotenv_variables
from gate.report.gitlab import WARNING_LABEL, GitLabReporter, section_end, section_start
from gate.result import JobResult, Result
from tests.fakes import make_result as shared_make_result
from tests.fakes import parse_dotenv

ESC = "\x1b[0K"


def make_result(outcome: Outcome = Outcome.FAILED, **fields: object) -> Result:
    result: Result = shared_make_result(outcome, **{"elapsed_seconds": 61.0, **fields})
    return result


def test_section_markers() -> None:
    start = section_start("clanforge_gate_12", "Waiting for update 12", 1700000000.9)
    marker = "section_start:1700000000:clanforge_gate_12[collapsed=true]"
    assert start == f"{ESC}{marker}\r{ESC}Waiting for update 12"
    end = section_end("clanforge_gate_12", 1700000042.0)
    assert end == f"{ESC}section_end:1700000042:clanforge_gate_12\r{ESC}"


def test_section_name_and_header_are_made_safe() -> None:
    start = section_start("a b:c[d]", "two\nlines\x1b[31m", 1.0, collapsed=False)
    assert start == f"{ESC}section_start:1:a_b_c_d_\r{ESC}two lines [31m"
    assert "\n" not in start


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("plain", "plain"),
        ("two\nlines\r\nthree", "two lines three"),
        ("  padded\t ", "padded"),
        ('"quoted"', "quoted"),
        ("it's 'fine' inside", "it's 'fine' inside"),
        ("disk #3 failed", "disk \uff033 failed"),
        ("cost $HOME 100%", "cost $HOME 100%"),
        ("nul\x00bell\x07", "nul bell"),
        ("", ""),
    ],
)
def test_dotenv_value(raw: str, safe: str) -> None:
    assert dotenv_value(raw) == safe


def test_dotenv_report_reads_back() -> None:
    result = make_result(
        job_error='"disk" #3 full\nretry later',
        message="update 1234: Failed: disk full",
        jobs=(JobResult("imageupdate", 1234, Outcome.FAILED, "update 1234: Failed"),),
    )
    variables = parse_dotenv(dotenv_report(result))
    assert variables == {
        "CLANFORGE_OUTCOME": "failed",
        "CLANFORGE_EXIT_CODE": "1",
        "CLANFORGE_STATE": "Failed",
        "CLANFORGE_STATE_ID": "6",
        "CLANFORGE_PROGRESS": "40",
        "CLANFORGE_JOB_ERROR": 'disk" \uff033 full retry later',
        "CLANFORGE_ELAPSED_SECONDS": "61.0",
        "CLANFORGE_GATE_UPDATE_ID": "1234",
        "CLANFORGE_GATE_DIFF_ID": "",
        "CLANFORGE_GATE_VERSION_ID": "",
        "CLANFORGE_JOBS": "imageupdate:1234=failed",
        "CLANFORGE_MESSAGE": "update 1234: Failed: disk full",
    }


def test_dotenv_report_stays_within_gitlab_limits() -> None:
    huge = "x" * 20000
    result = make_result(job_error=huge, message="m" * 9000)
    text = dotenv_report(result)
    assert len(text.encode("utf-8")) <= DOTENV_MAX_BYTES < 5 * 1024
    variables = parse_dotenv(text)
    assert list(variables) == list(dotenv_variables(result))
    assert variables["CLANFORGE_OUTCOME"] == "failed"
    assert variables["CLANFORGE_JOB_ERROR"].endswith("\u2026")
    assert variables["CLANFORGE_MESSAGE"].endswith("\u2026")


def test_dotenv_report_never_overrides_a_setting_of_a_later_gate_job() -> None:
    setting_names = {option.env for option in (*config.OPTIONS, *config.DEPLOY_OPTIONS)}
    setting_names |= {config.ACCESS_KEY_ENV, config.SECRET_KEY_ENV, config.TOKEN_ENV, config.CONFIG_ENV}
    setting_names |= {"CLANFORGE_JUNIT_FILE", "CLANFORGE_DOTENV_FILE"}
    names = set(parse_dotenv(dotenv_report(make_result())))
    assert names and not names & setting_names


@pytest.mark.parametrize("outcome", list(Outcome))
def test_reporter_writes_sections_and_dotenv_for_every_outcome(tmp_path: Path, outcome: Outcome) -> None:
    stream = io.StringIO()
    times = iter([1000.0, 1065.0])
    path = tmp_path / "out" / "gate.env"
    reporter = GitLabReporter(stream, dotenv_path=str(path), now=lambda: next(times))
    reporter.begin(JobKind.IMAGE_UPDATE, [1234])
    reporter.warning("unknown job state 9")
    reporter.warning("unknown job state 9")
    reporter.end(make_result(outcome))
    lines = stream.getvalue().split("\n")
    assert lines[0].startswith(f"{ESC}section_start:1000:clanforge_gate_1234[collapsed=true]\r")
    assert lines[1] == f"{ESC}section_end:1065:clanforge_gate_1234\r{ESC}"
    assert lines[2] == f"{WARNING_LABEL} unknown job state 9"
    assert lines[3] == ""
    variables = parse_dotenv(path.read_text(encoding="utf-8"))
    assert variables["CLANFORGE_OUTCOME"] == outcome.value


def test_reporter_without_begin_writes_no_section(tmp_path: Path) -> None:
    stream = io.StringIO()
    path = tmp_path / "gate.env"
    reporter = GitLabReporter(stream, dotenv_path=str(path))
    reporter.end(make_result(Outcome.ERROR, update_id=None, state_id=None, state_name=None, progress=None))
    assert stream.getvalue() == ""
    variables = parse_dotenv(path.read_text(encoding="utf-8"))
    assert variables["CLANFORGE_EXIT_CODE"] == "3"
    assert variables["CLANFORGE_GATE_UPDATE_ID"] == ""


def test_section_wraps_the_console_log() -> None:
    stream = io.StringIO()
    reporter = FanOut([GitLabReporter(stream, dotenv_path=None, now=lambda: 5.0), ConsoleReporter(stream, 0)])
    reporter.begin(JobKind.IMAGE_UPDATE, [7])
    reporter.progress("update 7: Running 10%")
    reporter.end(make_result(Outcome.SUCCEEDED, message="update 7: succeeded"))
    assert stream.getvalue().split("\n") == [
        f"{ESC}section_start:5:clanforge_gate_7[collapsed=true]\r{ESC}Waiting for Clanforge image update 7",
        "update 7: Running 10%",
        f"{ESC}section_end:5:clanforge_gate_7\r{ESC}",
        "update 7: succeeded",
        "",
    ]


def test_dotenv_reporter_raises_a_write_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(OSError):
        DotenvReporter(str(blocker / "gate.env")).end(make_result())


# --- ids of created jobs -----------------------------------------------------------------------


def test_a_created_job_is_in_the_dotenv_report_at_once(tmp_path: Path) -> None:
    path = tmp_path / "gate.env"
    reporter = GitLabReporter(io.StringIO(), dotenv_path=str(path), now=lambda: 1.0)
    reporter.begin(JobKind.IMAGE_UPDATE, [0])
    reporter.created("imageupdate", 11)
    assert parse_dotenv(path.read_text(encoding="utf-8")) == {
        "CLANFORGE_GATE_UPDATE_ID": "11",
        "CLANFORGE_GATE_DIFF_ID": "",
        "CLANFORGE_GATE_VERSION_ID": "",
    }
    reporter.created("imagediff", 22)
    variables = parse_dotenv(path.read_text(encoding="utf-8"))
    assert (variables["CLANFORGE_GATE_UPDATE_ID"], variables["CLANFORGE_GATE_DIFF_ID"]) == ("11", "22")


def test_the_final_report_keeps_ids_of_jobs_created_but_not_waited_on(tmp_path: Path) -> None:
    path = tmp_path / "gate.env"
    reporter = DotenvReporter(str(path))
    reporter.created("imageupdate", 11)
    reporter.created("imagediff", 22)
    waited = (JobResult("imageupdate", 11, Outcome.SUCCEEDED, "update 11: succeeded"),)
    reporter.end(
        make_result(
            Outcome.CANCELLED, update_id=None, state_id=None, state_name=None, job_kind="deploy", jobs=waited
        )
    )
    variables = parse_dotenv(path.read_text(encoding="utf-8"))
    assert variables["CLANFORGE_OUTCOME"] == "cancelled"
    assert variables["CLANFORGE_GATE_UPDATE_ID"] == "11"
    assert variables["CLANFORGE_GATE_DIFF_ID"] == "22"
    assert variables["CLANFORGE_GATE_VERSION_ID"] == ""


def test_a_wait_on_a_diff_is_not_reported_as_an_update() -> None:
    variables = parse_dotenv(dotenv_report(make_result(update_id=22, job_kind="imagediff")))
    assert variables["CLANFORGE_GATE_DIFF_ID"] == "22"
    assert variables["CLANFORGE_GATE_UPDATE_ID"] == ""


def test_an_unwritable_dotenv_at_create_time_warns_and_goes_on(tmp_path: Path) -> None:
    stream = io.StringIO()
    reporter = GitLabReporter(stream, dotenv_path=str(tmp_path), now=lambda: 1.0)
    reporter.begin(JobKind.IMAGE_UPDATE, [0])
    reporter.created("imageupdate", 11)  # the path is a directory: cannot be written
    with pytest.raises(OSError):
        reporter.end(make_result())
    lines = stream.getvalue().split("\n")
    assert lines[2].startswith(f"{WARNING_LABEL} cannot write the dotenv report yet")


# --- several jobs ------------------------------------------------------------------------------

DEPLOY_JOBS = (
    JobResult("imageupdate", 11, Outcome.SUCCEEDED, "update 11: succeeded", state_name="Complete"),
    JobResult("imagediff", 22, Outcome.FAILED, "imagediff 22: Failed", job_error="diff #1 failed\nbad"),
)


def test_dotenv_report_of_a_deploy_lists_each_job() -> None:
    run = make_result(
        Outcome.FAILED, update_id=None, state_id=None, state_name=None, progress=None,
        job_kind="deploy", jobs=DEPLOY_JOBS,
    )  # fmt: skip
    variables = parse_dotenv(dotenv_report(run))
    assert variables["CLANFORGE_JOBS"] == "imageupdate:11=succeeded,imagediff:22=failed"
    assert variables["CLANFORGE_OUTCOME"] == "failed" and variables["CLANFORGE_STATE"] == ""
    assert (variables["CLANFORGE_GATE_UPDATE_ID"], variables["CLANFORGE_GATE_DIFF_ID"]) == ("11", "22")
    items = [item.partition("=") for item in variables["CLANFORGE_JOBS"].split(",")]
    assert [(name.split(":"), outcome) for name, _, outcome in items] == [
        (["imageupdate", "11"], "succeeded"),
        (["imagediff", "22"], "failed"),
    ]


def test_a_long_list_of_jobs_is_shortened_by_whole_items() -> None:
    jobs = tuple(
        JobResult("imageupdate", 1_000_000 + n, Outcome.TIMED_OUT, f"update {n}: timed out")
        for n in range(300)
    )
    run = make_result(
        Outcome.TIMED_OUT, update_id=None, jobs=jobs, message="300 image updates: 300 timed out"
    )
    text = dotenv_report(run)
    assert len(text.encode("utf-8")) <= DOTENV_MAX_BYTES
    line = parse_dotenv(text)["CLANFORGE_JOBS"]
    assert line.endswith(",\u2026")
    items = line.removesuffix(",\u2026").split(",")
    assert 50 < len(items) < 300
    assert all(re.fullmatch(r"imageupdate:\d{7}=timed_out", item) for item in items)
