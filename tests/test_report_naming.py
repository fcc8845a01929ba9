"""One name per job kind in every output: the console, GitHub, GitLab, JUnit all say ``JobKind.label``."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gate.ending import Outcome
from gate.kinds import WAITABLE, JobKind
from gate.report.console import ConsoleReporter, deploy_table, summary_table
from gate.report.dotenv import DotenvReporter, dotenv_variables, id_variables
from gate.report.github import OUTPUT_NAMES, error_annotation, job_summary, outputs_for
from gate.report.junit import junit_xml, results_of
from gate.report.naming import job_ids, job_label, jobs_json, jobs_line, run_name, waiting_header
from gate.result import JobResult, Result


def one_job(kind: str, job_id: int, outcome: Outcome = Outcome.FAILED) -> Result:
    job = JobResult(kind, job_id, outcome, f"{kind} {job_id}: {outcome.value}")
    return Result(job_id, outcome, job.message, job_kind=kind, jobs=(job,))


@pytest.mark.parametrize(
    ("kind", "job_id", "name"),
    [
        ("imageupdate", 11, "image update 11"),
        ("imagediff", 22, "image diff 22"),
        ("imageversion", 33, "image version 33"),
        ("imageinstall", 5, "image 5 install"),
        (JobKind.IMAGE_DIFF, 22, "image diff 22"),
    ],
)
def test_a_job_has_one_name_whether_its_kind_is_the_enum_or_its_api_name(
    kind: str, job_id: int, name: str
) -> None:
    # A job's kind given by its API name is the enum (``JobResult`` turns one into the other).
    job = JobResult(kind, job_id, Outcome.SUCCEEDED, "")
    assert job.kind is JobKind(str(kind))
    assert job_label(job.kind, job_id) == name == JobKind(str(kind)).label(job_id)


def test_a_diff_is_named_the_same_in_the_github_junit_and_console_reports() -> None:
    run = one_job("imagediff", 22)
    assert run_name(run) == "image diff 22"
    assert "title=Clanforge image diff 22 failed::" in (error_annotation(run) or "")
    assert job_summary(run).startswith("### :x: Clanforge image diff 22 failed")
    case = ET.fromstring(junit_xml(results_of(run))).find("testsuite/testcase")
    assert case is not None and case.get("name") == "image diff 22"
    assert case.get("classname") == "clanforge.imagediff"
    several = Result(None, Outcome.FAILED, "x", jobs=(*run.jobs, *one_job("imageupdate", 11).jobs))
    rows = summary_table(several).splitlines()
    assert rows[1].startswith("image diff 22  ") and rows[2].startswith("image update 11  ")


def test_a_deploy_names_every_step_by_its_kind() -> None:
    # Kinds as the enum itself: the reports read a JobResult's kind as a JobKind or its API name.
    steps = tuple(
        JobResult(kind, job_id, Outcome.SUCCEEDED, "ok")
        for kind, job_id in (
            (JobKind.IMAGE_UPDATE, 11),
            (JobKind.IMAGE_DIFF, 22),
            (JobKind.IMAGE_VERSION, 33),
            (JobKind.FLEET_INSTALL, 5),
        )
    )
    run = Result(None, Outcome.SUCCEEDED, "deploy of image 5: succeeded", job_kind="deploy", jobs=steps)
    assert run_name(run) == "deploy"
    table = deploy_table(run)
    summary = job_summary(run)
    cases = [c.get("name") for c in ET.fromstring(junit_xml(results_of(run))).iter("testcase")]
    for name in ("image update 11", "image diff 22", "image version 33", "image 5 install"):
        assert f"  {name}  " in table and f"| {name} |" in summary
    assert cases == ["image update 11", "image diff 22", "image version 33", "image 5 install"]
    classes = [c.get("classname") for c in ET.fromstring(junit_xml(results_of(run))).iter("testcase")]
    assert classes == [
        "clanforge.imageupdate",
        "clanforge.imagediff",
        "clanforge.imageversion",
        "clanforge.imageinstall",
    ]
    items = (
        "imageupdate:11=succeeded,imagediff:22=succeeded,imageversion:33=succeeded,imageinstall:5=succeeded"
    )
    assert jobs_line(run) == items
    assert [job["kind"] for job in json.loads(jobs_json(run))] == [
        "imageupdate",
        "imagediff",
        "imageversion",
        "imageinstall",
    ]
    assert outputs_for(run)["diff-id"] == "22" and dotenv_variables(run)["CLANFORGE_GATE_VERSION_ID"] == "33"
    out = io.StringIO()
    ConsoleReporter(out).end(run)
    assert out.getvalue() == table + "\n" + "deploy of image 5: succeeded\n"


def test_runs_of_several_jobs_and_runs_without_a_job() -> None:
    updates = tuple(JobResult("imageupdate", i, Outcome.SUCCEEDED, "ok") for i in (1, 2, 3))
    assert run_name(Result(None, Outcome.SUCCEEDED, "", jobs=updates)) == "wait on 3 image updates"
    mixed = (*updates[:1], JobResult("imagediff", 4, Outcome.SUCCEEDED, "ok"))
    assert run_name(Result(None, Outcome.SUCCEEDED, "", jobs=mixed)) == "wait on 2 jobs"
    # A configuration error knows no id yet.
    assert run_name(Result(None, Outcome.ERROR, "bad", job_kind="imageversion")) == "image version"
    assert run_name(Result(None, Outcome.SUCCEEDED, "ready", job_kind="check")) == "check"
    assert waiting_header(JobKind.IMAGE_UPDATE, [1234]) == "Waiting for Clanforge image update 1234"


def test_the_id_outputs_and_variables_keep_their_names() -> None:
    assert [kind.output for kind in WAITABLE] == ["update-id", "diff-id", "image-version-id"]
    assert OUTPUT_NAMES[7:10] == ("update-id", "diff-id", "image-version-id")
    assert list(id_variables({})) == [
        "CLANFORGE_GATE_UPDATE_ID",
        "CLANFORGE_GATE_DIFF_ID",
        "CLANFORGE_GATE_VERSION_ID",
    ]


def test_ids_announced_by_kind_name_or_enum_land_in_the_same_output() -> None:
    cut = Result(None, Outcome.CANCELLED, "cancelled", job_kind="deploy")
    for created in ({"imagediff": 22}, {JobKind.IMAGE_DIFF: 22}):
        assert job_ids(cut, created) == {JobKind.IMAGE_DIFF: 22}
        assert outputs_for(cut, created)["diff-id"] == "22"
        assert dotenv_variables(cut, created)["CLANFORGE_GATE_DIFF_ID"] == "22"


def test_the_fleet_install_announces_no_id(tmp_path: Path) -> None:
    path = tmp_path / "gate.env"
    reporter = DotenvReporter(str(path))
    assert reporter.write_created("imageinstall", 5) is None
    assert "=5" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("kind", "ids", "header"),
    [
        (JobKind.IMAGE_DIFF, [22], "Waiting for Clanforge image diff 22"),
        (JobKind.IMAGE_VERSION, [9], "Waiting for Clanforge image version 9"),
        (JobKind.IMAGE_UPDATE, [1, 2, 3], "Waiting for Clanforge 3 image updates: 1, 2, 3"),
        (
            JobKind.IMAGE_DIFF,
            list(range(100, 112)),
            "Waiting for Clanforge 12 image diffs: 100, 101, 102, 103, 104 and 7 more",
        ),
    ],
)
def test_the_log_heading_names_the_kind_and_the_jobs_it_waits_on(
    kind: JobKind, ids: list[int], header: str
) -> None:
    assert waiting_header(kind, ids) == header
