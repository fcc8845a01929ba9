"""A JUnit XML report of a wait, for test report widgets (GitLab merge requests, Jenkins, ...).

One ``<testsuite>`` with one ``<testcase>`` per job of the run (image update, diff, version, the
fleet install of a deploy): ``<failure>`` when the job failed, ``<error>`` when the gate could not
decide (timed out, gate error, cancelled); a run that did not succeed although none of its jobs
failed (a configuration error, a deploy stopped between two jobs) adds a case of its own. Built with
``xml.etree`` so escaping is the library's business; characters XML 1.0 cannot carry at all
(most control characters) are replaced first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from gate.ending import Outcome
from gate.kinds import JobKind
from gate.report.files import write_text_atomic
from gate.report.naming import failure_outside_jobs, per_job, run_name
from gate.result import JobResult, Result

SUITE_NAME = "clanforge-gate"

# Everything outside XML 1.0's Char production.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_ERROR_TYPES = {
    Outcome.TIMED_OUT: "timed_out",
    Outcome.ERROR: "gate_error",
    Outcome.CANCELLED: "cancelled",
}


def xml_text(text: str) -> str:
    """``text`` with characters XML 1.0 cannot represent replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def _details(result: Result) -> str:
    lines = [result.message]
    if result.state_name or result.state_id is not None:
        state_id = "?" if result.state_id is None else str(result.state_id)
        lines.append(f"job state: {result.state_name or '?'} ({state_id})")
    if result.progress is not None:
        lines.append(f"progress: {result.progress}%")
    if result.job_error:
        lines.append(f"job error: {result.job_error}")
    lines.append(f"exit code: {result.exit_code}")
    lines += [f"warning: {warning}" for warning in result.warnings]
    return "\n".join(lines)


def _testcase(result: Result, log: Sequence[str], closing: str) -> ET.Element:
    case = ET.Element(
        "testcase",
        {
            "classname": f"clanforge.{result.job_kind!s}",
            "name": run_name(result),
            "time": f"{result.elapsed_seconds:.3f}",
        },
    )
    if result.outcome is Outcome.FAILED:
        node = ET.SubElement(case, "failure", {"message": xml_text(result.message), "type": "failed"})
        node.text = xml_text(_details(result))
    elif result.outcome in _ERROR_TYPES:
        kind = _ERROR_TYPES[result.outcome]
        node = ET.SubElement(case, "error", {"message": xml_text(result.message), "type": kind})
        node.text = xml_text(_details(result))
    out = [*log, result.message]
    if closing and closing != result.message:
        out.append(closing)
    ET.SubElement(case, "system-out").text = xml_text("\n".join(out))
    return case


def junit_xml(results: Sequence[Result], *, log: Sequence[str] = (), closing: str = "") -> str:
    """The report as a string, XML declaration included. ``log`` becomes each case's system-out,
    followed by the case's own message and ``closing`` (the run's last line, with any resume
    command)."""
    root = ET.Element("testsuites", {"name": SUITE_NAME})
    totals = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    for result in results:
        failed = int(result.outcome is Outcome.FAILED)
        errored = int(result.outcome in _ERROR_TYPES)
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": f"{SUITE_NAME}: {run_name(result)}",
                "tests": "1",
                "failures": str(failed),
                "errors": str(errored),
                "skipped": "0",
                "time": f"{result.elapsed_seconds:.3f}",
            },
        )
        suite.append(_testcase(result, log, closing))
        totals["tests"] += 1
        totals["failures"] += failed
        totals["errors"] += errored
        totals["time"] += result.elapsed_seconds
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", str(totals["errors"]))
    root.set("time", f"{totals['time']:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _job_as_result(job: JobResult, run: Result) -> Result:
    return Result(
        update_id=job.job_id,
        outcome=job.outcome,
        message=job.message,
        state_name=job.state_name,
        polls=job.polls,
        elapsed_seconds=job.elapsed_seconds,
        job_kind=job.kind,
        jobs=(job,),
        # A cancelled job exits as the run did (130 or 143, by the signal).
        signum=run.signum,
    )


def results_of(run: Result) -> list[Result]:
    """The cases of a run: the run itself for one job; else one per job, each named by its own
    kind, plus the run when it did not succeed although none of its jobs failed (its error would
    be lost otherwise)."""
    if not per_job(run):
        return [run]
    results = [_job_as_result(job, run) for job in run.jobs]
    if failure_outside_jobs(run):
        results.append(run)
    return results


class JUnitReporter:
    """Keeps the progress log and writes the JUnit report at the end, whatever the outcome."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._log: list[str] = []

    def begin(self, kind: JobKind, job_ids: Sequence[int]) -> None:
        """Nothing to do before the first line."""

    def progress(self, message: str) -> None:
        self._log.append(message)

    def debug(self, message: str) -> None:
        """Request lines would drown the report; they stay in the console log."""

    def warning(self, message: str) -> None:
        self._log.append(f"warning: {message}")

    def created(self, kind: JobKind, job_id: int) -> None:
        """The progress log already has the line that names the new job."""

    def end(self, result: Result) -> None:
        write_text_atomic(self._path, junit_xml(results_of(result), log=self._log, closing=result.message))
