"""The JUnit report, parsed back with the standard library."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gate.ending import Outcome
from gate.kinds import JobKind
from gate.report.junit import JUnitReporter, junit_xml, xml_text
from gate.result import JobResult, Result
from tests.fakes import make_result as shared_make_result

HOSTILE = "disk <full> & \"stuck\" 'here' ]]> \x1b[31mred\x00\x07\n::error::x %0A"


def make_result(outcome: Outcome = Outcome.FAILED, **fields: object) -> Result:
    result: Result = shared_make_result(outcome, **{"elapsed_seconds": 12.5, **fields})
    return result


EXPECTED = {
    Outcome.SUCCEEDED: (None, None),
    Outcome.FAILED: ("failure", "failed"),
    Outcome.TIMED_OUT: ("error", "timed_out"),
    Outcome.ERROR: ("error", "gate_error"),
    Outcome.CANCELLED: ("error", "cancelled"),
}


@pytest.mark.parametrize("outcome", list(Outcome))
def test_one_suite_and_case_per_update(outcome: Outcome) -> None:
    root = ET.fromstring(junit_xml([make_result(outcome)]))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    cases = suites[0].findall("testcase")
    assert len(cases) == 1
    case = cases[0]
    assert case.get("name") == "image update 1234"
    assert case.get("time") == "12.500"
    tag, kind = EXPECTED[outcome]
    problems = [child for child in case if child.tag in ("failure", "error", "skipped")]
    if tag is None:
        assert problems == []
    else:
        assert [p.tag for p in problems] == [tag]
        assert problems[0].get("type") == kind
        assert problems[0].get("message") == f"update 1234: {outcome.value}"
    failures = int(tag == "failure")
    errors = int(tag == "error")
    for node in (root, suites[0]):
        assert node.get("tests") == "1"
        assert node.get("failures") == str(failures)
        assert node.get("errors") == str(errors)


def test_hostile_text_is_escaped_and_parses_back() -> None:
    result = make_result(job_error=HOSTILE, message=f"update 1234: Failed: {HOSTILE}", warnings=("w <1>",))
    text = junit_xml([result], log=["update 1234: Running 40% & <rising>"])
    root = ET.fromstring(text)
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    clean = xml_text(HOSTILE)
    assert "\x00" not in clean and "\x1b" not in clean and "\ufffd[31mred" in clean
    assert failure.get("message") == f"update 1234: Failed: {clean}"
    assert f"job error: {clean}" in (failure.text or "")
    assert "warning: w <1>" in (failure.text or "")
    out = root.find("testsuite/testcase/system-out")
    assert out is not None and out.text is not None
    assert out.text.splitlines()[0] == "update 1234: Running 40% & <rising>"


def test_several_updates_add_up() -> None:
    results = [
        make_result(Outcome.SUCCEEDED, update_id=1),
        make_result(Outcome.FAILED, update_id=2),
        make_result(Outcome.TIMED_OUT, update_id=3),
    ]
    root = ET.fromstring(junit_xml(results))
    assert [s.get("name") for s in root.findall("testsuite")] == [
        "clanforge-gate: image update 1",
        "clanforge-gate: image update 2",
        "clanforge-gate: image update 3",
    ]
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "1")
    assert root.get("time") == "37.500"


def test_reporter_writes_the_log_for_an_error_without_an_id(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "junit.xml"
    reporter = JUnitReporter(str(path))
    reporter.begin(JobKind.IMAGE_UPDATE, [1])
    reporter.progress("update 1: Queued")
    reporter.debug("GET /cfp/v1/... 200")
    reporter.warning("jobfailed=1")
    reporter.end(make_result(Outcome.ERROR, update_id=None, message="credentials rejected"))
    root = ET.parse(path).getroot()
    case = root.find("testsuite/testcase")
    assert case is not None and case.get("name") == "image update"
    out = case.find("system-out")
    assert out is not None
    assert out.text == "update 1: Queued\nwarning: jobfailed=1\ncredentials rejected"


def test_reporter_raises_a_write_failure(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        JUnitReporter(str(tmp_path)).end(make_result())
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def test_a_run_over_several_jobs_reports_each(tmp_path: Path) -> None:
    jobs = (
        JobResult("imageupdate", 11, Outcome.SUCCEEDED, "update 11: succeeded", elapsed_seconds=3.0),
        JobResult("imageupdate", 12, Outcome.FAILED, "update 12: failed", job_error="boom"),
    )
    run = make_result(Outcome.FAILED, update_id=None, state_id=None, state_name=None, jobs=jobs)
    path = tmp_path / "junit.xml"
    JUnitReporter(str(path)).end(run)
    root = ET.parse(path).getroot()
    names = [case.get("name") for case in root.iter("testcase")]
    assert names == ["image update 11", "image update 12"]
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "1", "0")


DEPLOY_JOBS = (
    JobResult("imageupdate", 11, Outcome.SUCCEEDED, "update 11: succeeded"),
    JobResult("imagediff", 22, Outcome.SUCCEEDED, "imagediff 22: succeeded"),
    JobResult("imageversion", 33, Outcome.SUCCEEDED, "imageversion 33: succeeded"),
    JobResult("imageinstall", 5, Outcome.FAILED, "image 5 install: 2 machines failed"),
)


def deploy_run(outcome: Outcome, jobs: tuple[JobResult, ...], message: str) -> Result:
    return make_result(
        outcome, update_id=None, state_id=None, state_name=None, job_kind="deploy", jobs=jobs, message=message
    )


def test_a_deploy_reports_each_step_under_its_own_kind(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    JUnitReporter(str(path)).end(deploy_run(Outcome.FAILED, DEPLOY_JOBS, "deploy of image 5: stopped"))
    root = ET.parse(path).getroot()
    cases = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    assert cases == [
        ("clanforge.imageupdate", "image update 11"),
        ("clanforge.imagediff", "image diff 22"),
        ("clanforge.imageversion", "image version 33"),
        ("clanforge.imageinstall", "image 5 install"),
    ]
    install = list(root.iter("testcase"))[3]
    failure = install.find("failure")
    assert failure is not None and failure.get("message") == "image 5 install: 2 machines failed"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "0")


def test_a_deploy_stopped_between_jobs_adds_a_case_for_its_error(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    message = "imagediff create got no clear answer; to resume: clanforge-gate deploy --update-id 11"
    JUnitReporter(str(path)).end(deploy_run(Outcome.ERROR, DEPLOY_JOBS[:1], message))
    root = ET.parse(path).getroot()
    cases = list(root.iter("testcase"))
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("clanforge.imageupdate", "image update 11"),
        ("clanforge.deploy", "deploy"),
    ]
    error = cases[1].find("error")
    assert error is not None and error.get("message") == message and error.get("type") == "gate_error"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "0", "1")


def test_each_case_of_a_cut_short_deploy_ends_with_the_resume_command(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    jobs = (
        DEPLOY_JOBS[0],
        JobResult("imagediff", 22, Outcome.CANCELLED, "imagediff 22: last seen Running; may be running"),
    )
    message = "deploy: cancelled by SIGTERM; to resume: clanforge-gate deploy --diff-id 22"
    JUnitReporter(str(path)).end(deploy_run(Outcome.CANCELLED, jobs, message))
    root = ET.parse(path).getroot()
    cases = list(root.iter("testcase"))
    assert len(cases) == 2
    for case in cases:
        out = case.find("system-out")
        assert out is not None and (out.text or "").splitlines()[-1] == message
    error = cases[1].find("error")
    assert error is not None and error.get("type") == "cancelled"
