"""GitHub Actions formatting and reporting, checked the way the runner reads it back."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
import yaml

from gate.ending import Outcome
from gate.kinds import JobKind
from gate.report import FanOut
from gate.report.console import ConsoleReporter
from gate.report.github import (
    OUTPUT_NAMES,
    GitHubReporter,
    error_annotation,
    escape_data,
    escape_property,
    job_summary,
    output_entry,
    outputs_file_text,
    outputs_for,
    workflow_command,
)
from gate.result import JobResult, Result
from tests.fakes import make_result as shared_make_result
from tests.fakes import parse_command, parse_output_file, unescape_data, unescape_property

ROOT = Path(__file__).resolve().parent.parent

NASTY = "disk 100% full\r\nat ::step:: 3, <b>&amp;</b> | `x`\nlast line::error::x"


def make_result(outcome: Outcome = Outcome.FAILED, **fields: object) -> Result:
    result: Result = shared_make_result(outcome, **fields)
    return result


# --- escaping ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain", "plain"),
        ("100%", "100%25"),
        ("a\nb", "a%0Ab"),
        ("a\r\nb", "a%0D%0Ab"),
        ("%0A is not a newline", "%250A is not a newline"),
        ("::error::x", "::error::x"),
        ("a:b,c", "a:b,c"),
        ("", ""),
    ],
)
def test_escape_data(raw: str, escaped: str) -> None:
    assert escape_data(raw) == escaped
    assert unescape_data(escape_data(raw)) == raw


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("title: x, y", "title%3A x%2C y"),
        ("50%\n", "50%25%0A"),
        ("%3A", "%253A"),
    ],
)
def test_escape_property(raw: str, escaped: str) -> None:
    assert escape_property(raw) == escaped
    assert unescape_property(escape_property(raw)) == raw


def test_workflow_command_survives_hostile_text() -> None:
    line = workflow_command("error", NASTY, {"title": "update 1: failed, see: log"})
    assert "\n" not in line and "\r" not in line
    assert parse_command(line) == ("error", {"title": "update 1: failed, see: log"}, NASTY)


def test_workflow_command_without_properties() -> None:
    assert workflow_command("endgroup") == "::endgroup::"
    assert workflow_command("warning", "50%") == "::warning::50%25"


# --- GITHUB_OUTPUT -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["", "one line", "two\nlines", "trailing newline\n", "\n\nleading", "x=y<<EOF", "EOF", NASTY],
)
def test_output_entry_round_trips(value: str) -> None:
    text = output_entry("job-error", value)
    expected = value.replace("\r\n", "\n").replace("\r", "\n")
    assert parse_output_file(text) == {"job-error": expected}


def test_output_delimiter_is_redrawn_when_it_occurs_in_the_value() -> None:
    tokens = iter(["EOF", "EOF", "fresh_token"])
    text = output_entry("message", "before\nEOF\nafter", delimiter=lambda: next(tokens))
    assert text.startswith("message<<fresh_token\n")
    assert parse_output_file(text) == {"message": "before\nEOF\nafter"}


def test_output_delimiter_is_random() -> None:
    first = output_entry("a", "x").splitlines()[0]
    second = output_entry("a", "x").splitlines()[0]
    assert first != second


@pytest.mark.parametrize("name", ["", "a\nb", "a=b", "a<<b"])
def test_output_entry_refuses_bad_names(name: str) -> None:
    with pytest.raises(ValueError):
        output_entry(name, "x")


def test_all_outputs_parse_back_with_hostile_job_error() -> None:
    result = make_result(job_error=NASTY, message=f"update 1234: Failed: {NASTY}")
    parsed = parse_output_file("earlier=1\n" + outputs_file_text(result))
    assert parsed.pop("earlier") == "1"
    expected = {k: v.replace("\r\n", "\n") for k, v in outputs_for(result).items()}
    assert parsed == expected
    assert parsed["job-error"] == NASTY.replace("\r\n", "\n")
    assert parsed["outcome"] == "failed"
    assert parsed["exit-code"] == "1"
    assert parsed["state"] == "Failed"
    assert parsed["progress"] == "40"
    assert parsed["elapsed-seconds"] == "125.4"


def test_unknown_values_are_empty_outputs() -> None:
    result = make_result(Outcome.ERROR, update_id=None, state_id=None, state_name=None, progress=None)
    outputs = outputs_for(result)
    assert outputs["state"] == "" and outputs["progress"] == "" and outputs["job-error"] == ""
    assert outputs["exit-code"] == "3"


# --- job summary -------------------------------------------------------------------------------


def test_summary_escapes_markdown_and_html() -> None:
    result = make_result(job_error="<script>alert(1)</script> | *bold*\nline2")
    summary = job_summary(result)
    assert "<script>" not in summary
    assert "&lt;script&gt;" in summary
    assert "\\|" in summary and "\\*bold\\*" in summary
    assert "line2" in summary and "<br>line2" in summary
    table_rows = [line for line in summary.splitlines() if line.startswith("| ")]
    # Every row still has exactly two cells: no stray pipe split one.
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 3 for row in table_rows)


def test_summary_lists_warnings_and_headline() -> None:
    result = make_result(Outcome.SUCCEEDED, state_id=5, state_name="Complete", warnings=("odd state 9",))
    summary = job_summary(result)
    assert summary.startswith("### :white_check_mark: Clanforge image update 1234 succeeded")
    assert "- odd state 9" in summary
    assert "| Job state | Complete (5) |" in summary
    assert "| Waited | 2m05s |" in summary


# --- the reporter --------------------------------------------------------------------------------


def run_reporter(tmp_path: Path, result: Result, *, begin: bool = True) -> tuple[list[str], Path, Path]:
    stream = io.StringIO()
    output, summary = tmp_path / "output", tmp_path / "summary"
    output.write_text("previous=kept\n", encoding="utf-8")
    reporter = GitHubReporter(stream, output_path=str(output), summary_path=str(summary))
    if begin:
        reporter.begin(JobKind.IMAGE_UPDATE, [1234])
    reporter.progress("update 1234: Running 40%")
    reporter.warning("jobfailed=1 while Running: 50% odd\nsecond line")
    reporter.debug("update 1234: GET /status 200 (12ms)")
    reporter.end(result)
    return stream.getvalue().splitlines(), output, summary


@pytest.mark.parametrize("outcome", list(Outcome))
def test_reporter_writes_everything_for_every_outcome(tmp_path: Path, outcome: Outcome) -> None:
    lines, output, summary = run_reporter(tmp_path, make_result(outcome, job_error="bad: 100%"))
    assert lines[0] == "::group::Waiting for Clanforge image update 1234"
    assert parse_command(lines[1]) == ("warning", {}, "jobfailed=1 while Running: 50% odd\nsecond line")
    assert lines[2] == "::debug::update 1234: GET /status 200 (12ms)"
    assert lines[3] == "::endgroup::"
    errors = [parse_command(line) for line in lines if line.startswith("::error")]
    if outcome is Outcome.SUCCEEDED:
        assert errors == []
    else:
        assert len(errors) == 1
        _, props, data = errors[0]
        assert props["title"].startswith("Clanforge image update 1234")
        assert data == f"update 1234: {outcome.value}"
    outputs = parse_output_file(output.read_text(encoding="utf-8"))
    assert outputs["previous"] == "kept"
    assert outputs["outcome"] == outcome.value
    assert outputs["job-error"] == "bad: 100%"
    assert "Clanforge image update 1234" in summary.read_text(encoding="utf-8")


def test_reporter_without_begin_opens_and_closes_no_group(tmp_path: Path) -> None:
    result = make_result(Outcome.ERROR, update_id=None, message="update_id is required")
    lines, output, _ = run_reporter(tmp_path, result, begin=False)
    assert not any(line.startswith(("::group", "::endgroup")) for line in lines)
    assert parse_command(lines[-1]) == (
        "error",
        {"title": "Clanforge image update: gate error"},
        "update_id is required",
    )
    assert parse_output_file(output.read_text(encoding="utf-8"))["exit-code"] == "3"


def test_an_unwritable_output_file_is_raised_after_the_summary_is_written(tmp_path: Path) -> None:
    stream = io.StringIO()
    summary = tmp_path / "summary"
    reporter = GitHubReporter(stream, output_path=str(tmp_path), summary_path=str(summary))
    reporter.begin(JobKind.IMAGE_UPDATE, [1234])
    with pytest.raises(OSError):
        reporter.end(make_result())
    assert stream.getvalue().splitlines()[1] == "::endgroup::"
    assert "failed" in summary.read_text(encoding="utf-8")


def test_group_wraps_the_console_log(tmp_path: Path) -> None:
    stream = io.StringIO()
    reporter = FanOut(
        [
            GitHubReporter(stream, output_path=None, summary_path=None),
            ConsoleReporter(stream, 0),
        ]
    )
    reporter.begin(JobKind.IMAGE_UPDATE, [1234])
    reporter.progress("update 1234: Running 40%")
    reporter.end(make_result(Outcome.SUCCEEDED, message="update 1234: succeeded"))
    lines = stream.getvalue().splitlines()
    assert lines == [
        "::group::Waiting for Clanforge image update 1234",
        "update 1234: Running 40%",
        "::endgroup::",
        "update 1234: succeeded",
    ]


# --- ids of created jobs -----------------------------------------------------------------------


def test_a_created_job_sets_its_id_output_at_once(tmp_path: Path) -> None:
    output = tmp_path / "output"
    output.write_text("previous=kept\n", encoding="utf-8")
    stream = io.StringIO()
    reporter = GitHubReporter(stream, output_path=str(output), summary_path=None)
    reporter.begin(JobKind.IMAGE_UPDATE, [0])
    reporter.created(JobKind.IMAGE_UPDATE, 11)
    assert parse_output_file(output.read_text(encoding="utf-8")) == {"previous": "kept", "update-id": "11"}
    reporter.created(JobKind.IMAGE_DIFF, 22)
    reporter.created(JobKind.IMAGE_VERSION, 33)
    outputs = parse_output_file(output.read_text(encoding="utf-8"))
    assert (outputs["update-id"], outputs["diff-id"], outputs["image-version-id"]) == ("11", "22", "33")
    assert stream.getvalue().splitlines()[1:] == []  # nothing printed for it


def test_ids_of_created_jobs_survive_a_run_cut_short_before_its_wait(tmp_path: Path) -> None:
    output = tmp_path / "output"
    reporter = GitHubReporter(io.StringIO(), output_path=str(output), summary_path=None)
    reporter.created(JobKind.IMAGE_UPDATE, 11)
    reporter.created(JobKind.IMAGE_DIFF, 22)
    waited = (JobResult("imageupdate", 11, Outcome.SUCCEEDED, "update 11: succeeded"),)
    cut = make_result(Outcome.CANCELLED, update_id=None, job_kind="deploy", jobs=waited)
    reporter.end(cut)
    outputs = parse_output_file(output.read_text(encoding="utf-8"))
    assert (outputs["update-id"], outputs["diff-id"], outputs["image-version-id"]) == ("11", "22", "")
    assert outputs["outcome"] == "cancelled"


def test_a_plain_wait_names_its_job_in_the_id_output_of_its_kind() -> None:
    diff = make_result(update_id=22, job_kind="imagediff")
    assert outputs_for(diff)["diff-id"] == "22" and outputs_for(diff)["update-id"] == ""
    assert outputs_for(make_result())["update-id"] == "1234"


def test_an_unwritable_output_file_at_create_time_warns_and_goes_on(tmp_path: Path) -> None:
    stream = io.StringIO()
    reporter = GitHubReporter(stream, output_path=str(tmp_path), summary_path=None)
    reporter.created(JobKind.IMAGE_UPDATE, 11)
    name, _, message = parse_command(stream.getvalue().splitlines()[0])
    assert name == "warning" and "update-id" in message and "again at the end" in message


def test_action_declares_every_output_the_reporter_writes() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    # `mode` is the action's own (how it ran the gate), set before the gate starts.
    assert list(action["outputs"]) == ["mode", *OUTPUT_NAMES]
    assert set(outputs_for(make_result())) == set(OUTPUT_NAMES)


# --- several jobs, and a deploy ----------------------------------------------------------------

DEPLOY_JOBS = (
    JobResult("imageupdate", 11, Outcome.SUCCEEDED, "update 11: succeeded", 5, "Complete", 100, polls=3),
    JobResult("imagediff", 22, Outcome.SUCCEEDED, "imagediff 22: succeeded", 5, "Complete", 100),
    JobResult("imageversion", 33, Outcome.SUCCEEDED, "imageversion 33: succeeded", 5, "Complete"),
    JobResult("imageinstall", 5, Outcome.FAILED, "image 5 install: 2 failed", None, "3 completed", 100),
)


def deploy_result(outcome: Outcome = Outcome.FAILED, jobs: tuple[JobResult, ...] = DEPLOY_JOBS) -> Result:
    return make_result(
        outcome,
        update_id=None, state_id=None, state_name=None, progress=None, job_kind="deploy", jobs=jobs,
        message=f"deploy of image 5: {outcome.value}",
    )  # fmt: skip


def test_jobs_output_is_compact_json_of_each_job_and_survives_hostile_errors(tmp_path: Path) -> None:
    jobs = (
        JobResult("imageupdate", 11, Outcome.SUCCEEDED, "update 11: succeeded", 5, "Complete", 100),
        JobResult("imageupdate", 12, Outcome.FAILED, "update 12: failed", 6, "Failed", 40, job_error=NASTY),
        JobResult("imageupdate", 13, Outcome.TIMED_OUT, "update 13: timed out"),
    )
    run = make_result(update_id=None, state_id=None, state_name=None, progress=None, jobs=jobs)
    text = outputs_file_text(run)
    outputs = parse_output_file(text)
    compact = json.dumps(json.loads(outputs["jobs"]), separators=(",", ":"), ensure_ascii=False)
    assert outputs["jobs"] == compact and "\n" not in compact
    assert json.loads(outputs["jobs"]) == [
        {"kind": "imageupdate", "id": 11, "outcome": "succeeded", "state": "Complete", "progress": 100,
         "job_error": None},
        {"kind": "imageupdate", "id": 12, "outcome": "failed", "state": "Failed", "progress": 40,
         "job_error": NASTY},
        {"kind": "imageupdate", "id": 13, "outcome": "timed_out", "state": None, "progress": None,
         "job_error": None},
    ]  # fmt: skip
    # Several updates: no single update id.
    assert outputs["update-id"] == ""


def test_jobs_output_is_an_empty_list_without_jobs() -> None:
    assert outputs_for(make_result(Outcome.ERROR, update_id=None))["jobs"] == "[]"


def test_summary_of_several_jobs_has_a_row_per_job() -> None:
    jobs = (
        JobResult("imageupdate", 11, Outcome.SUCCEEDED, "update 11: succeeded", 5, "Complete", 100, polls=4),
        JobResult("imageupdate", 12, Outcome.FAILED, "update 12: failed", 6, "Failed", 40, job_error="a|b"),
    )
    run = make_result(update_id=None, state_id=None, state_name=None, progress=None, jobs=jobs)
    summary = job_summary(run)
    assert summary.startswith("### :x: Clanforge wait on 2 image updates failed")
    assert "| image update 11 | succeeded | Complete (5) | 100% | 4 | 0s |  |" in summary
    assert "| image update 12 | failed | Failed (6) | 40% | 0 | 0s | a\\|b |" in summary
    assert "| Jobs | 2 |" in summary and "| Job state |" not in summary
    job_rows = [line for line in summary.splitlines() if line.startswith("| image update")]
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 8 for row in job_rows)


def test_summary_and_error_title_of_a_deploy_name_each_kind() -> None:
    run = deploy_result()
    summary = job_summary(run)
    assert summary.startswith("### :x: Clanforge deploy failed")
    for name in ("image update 11", "image diff 22", "image version 33", "image 5 install"):
        assert f"| {name} |" in summary
    assert "| image 5 install | failed | 3 completed | 100% |" in summary
    _, props, _ = parse_command(error_annotation(run) or "")
    assert props["title"] == "Clanforge deploy failed"


def test_a_deploy_stopped_before_any_job_still_gets_a_summary() -> None:
    run = deploy_result(Outcome.ERROR, jobs=())
    summary = job_summary(run)
    assert summary.startswith("### :warning: Clanforge deploy: the gate could not decide")
    assert "| Jobs | 0 |" in summary and "| Job |" not in summary


def test_a_wait_on_another_kind_is_titled_by_its_kind() -> None:
    run = make_result(
        update_id=22, job_kind="imagediff",
        jobs=(JobResult("imagediff", 22, Outcome.FAILED, "imagediff 22: failed"),),
    )  # fmt: skip
    _, props, _ = parse_command(error_annotation(run) or "")
    assert props["title"] == "Clanforge image diff 22 failed"
    assert job_summary(run).startswith("### :x: Clanforge image diff 22 failed")


def mermaid_blocks(summary: str) -> list[list[str]]:
    blocks = re.findall(r"^```mermaid\n(.*?)^```$", summary, re.M | re.S)
    return [block.splitlines() for block in blocks]


def test_a_deploy_summary_shows_the_chain_as_a_gantt_chart_after_the_table() -> None:
    import dataclasses

    jobs = tuple(
        dataclasses.replace(job, elapsed_seconds=seconds)
        for job, seconds in zip(DEPLOY_JOBS, (62.4, 30.2, 0.3, 40.0), strict=True)
    )
    summary = job_summary(deploy_result(jobs=jobs))
    (chart,) = mermaid_blocks(summary)
    assert summary.index("| Job |") < summary.index("```mermaid")
    assert chart[:4] == [
        "gantt",
        "    title Clanforge deploy, step by step",
        "    dateFormat x",
        "    axisFormat %M:%S",
    ]
    tasks = [line.strip() for line in chart if re.search(r":\w+, step\d", line)]
    # End to end in milliseconds, each as long as its wait (at least a second, to stay visible),
    # red when it failed.
    assert tasks == [
        "image update 11 · succeeded · 1m02s :done, step1, 0, 62400",
        "image diff 22 · succeeded · 30s :done, step2, 62400, 92600",
        "image version 33 · succeeded · 0.3s :done, step3, 92600, 93600",
        "image 5 install · failed · 40s :crit, step4, 93600, 132900",
    ]


def test_task_names_cannot_break_the_chart() -> None:
    hostile = JobResult("image:update;x#", 7, Outcome.TIMED_OUT, "x", elapsed_seconds=5)
    (chart,) = mermaid_blocks(job_summary(deploy_result(Outcome.TIMED_OUT, jobs=(hostile,))))
    (task,) = (line for line in chart if "step1" in line)
    name, _, rest = task.strip().partition(" :")
    assert not set(name) & set(":;#`%")
    assert rest == "crit, step1, 0, 5000"


def test_no_chart_for_a_wait_or_a_deploy_without_jobs() -> None:
    several = make_result(update_id=None, jobs=DEPLOY_JOBS[:2])
    assert mermaid_blocks(job_summary(several)) == []
    assert mermaid_blocks(job_summary(deploy_result(Outcome.ERROR, jobs=()))) == []
