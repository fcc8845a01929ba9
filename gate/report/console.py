"""The console: plain lines for a CI log, and the tables that end a run of several jobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from gate.durations import format_duration
from gate.ending import Outcome
from gate.kinds import JobKind
from gate.report.naming import job_label
from gate.result import Result


def summary_table(result: Result) -> str:
    """A plain-text table of every job of a run, for the end of a log."""
    rows = [("job", "outcome", "state", "progress", "requests", "error")]
    for job in result.jobs:
        rows.append(
            (
                job_label(job.kind, job.job_id),
                job.outcome.value,
                job.state_name or "-",
                f"{job.progress}%" if job.progress is not None else "-",
                str(job.polls),
                (job.job_error or "")[:60],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def deploy_table(result: Result) -> str:
    """The chain of a deploy as a plain-text table for a CI log (Jenkins' console, GitLab's job
    log): each step's job, outcome, state, progress, requests, time waited and job error, then a
    total line. The same facts as the GitHub job summary's table."""
    rows = [("step", "job", "outcome", "state", "progress", "requests", "waited", "job error")]
    for number, job in enumerate(result.jobs, start=1):
        state = job.state_name or ""
        if job.state_id is not None:
            state = f"{state} ({job.state_id})" if state else f"state {job.state_id}"
        rows.append(
            (
                str(number),
                job_label(job.kind, job.job_id),
                job.outcome.value,
                state or "-",
                f"{job.progress}%" if job.progress is not None else "-",
                str(job.polls),
                format_duration(job.elapsed_seconds),
                " ".join((job.job_error or "").split())[:60],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(
        f"deploy: {result.outcome.value} (exit code {result.exit_code}), {len(result.jobs)} "
        f"step{'s' if len(result.jobs) != 1 else ''}, {result.polls} "
        f"request{'' if result.polls == 1 else 's'} in all, "
        f"{format_duration(result.elapsed_seconds)}"
    )
    return "\n".join(lines)


class ConsoleReporter:
    """Plain lines for a CI log. ``verbosity``: -1 final line only, 0 normal, 1 verbose."""

    def __init__(self, stream: TextIO, verbosity: int = 0, error_stream: TextIO | None = None) -> None:
        self.stream = stream
        self.error_stream = error_stream or stream
        self.verbosity = verbosity

    def _print(self, line: str, stream: TextIO | None = None) -> None:
        target = stream or self.stream
        print(line, file=target, flush=True)

    def begin(self, kind: JobKind, job_ids: Sequence[int]) -> None:
        pass

    def progress(self, message: str) -> None:
        if self.verbosity >= 0:
            self._print(message)

    def debug(self, message: str) -> None:
        if self.verbosity >= 1:
            self._print(message)

    def warning(self, message: str) -> None:
        if self.verbosity >= 0:
            self._print(f"warning: {message}")

    def created(self, kind: JobKind, job_id: int) -> None:
        """The deployer's own progress line already names the id and the resume command."""

    def end(self, result: Result) -> None:
        bad = result.outcome in (Outcome.ERROR, Outcome.CANCELLED)
        if result.is_deploy and result.jobs and self.verbosity >= 0:
            self._print(deploy_table(result))
        elif len(result.jobs) > 1 and self.verbosity >= 0:
            self._print(summary_table(result))
        self._print(result.message, self.error_stream if bad else self.stream)
