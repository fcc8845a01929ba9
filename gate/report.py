"""Telling a person what is happening. Platform reporters (gate.ci) sit beside the console one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, is_dataclass, replace
from enum import Enum
from typing import Any, Protocol, TextIO

from gate.apitext import clean
from gate.durations import format_duration
from gate.ending import Outcome
from gate.redact import MASK, Masker
from gate.result import Result


class Reporter(Protocol):
    def begin(self, update_id: int) -> None:
        """The wait starts."""

    def progress(self, message: str) -> None:
        """A change of state or progress, a heartbeat, or a retry."""

    def debug(self, message: str) -> None:
        """A request and its answer (only shown with --verbose)."""

    def warning(self, message: str) -> None:
        """Something odd that does not stop the wait."""

    def created(self, kind: str, job_id: int) -> None:
        """A job was just created (``deploy``): its id, to be announced at once so a run that is
        cut short can be resumed from it."""

    def end(self, result: Result) -> None:
        """The run is over, whatever the outcome."""


def summary_table(result: Result) -> str:
    """A plain-text table of every job of a run, for the end of a log."""
    rows = [("job", "outcome", "state", "progress", "requests", "error")]
    for job in result.jobs:
        rows.append(
            (
                job.label,
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
                job.label,
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
        f"step{'s' if len(result.jobs) != 1 else ''}, {result.polls} requests in all, "
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

    def begin(self, update_id: int) -> None:
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

    def created(self, kind: str, job_id: int) -> None:
        """The deployer's own progress line already names the id and the resume command."""

    def end(self, result: Result) -> None:
        bad = result.outcome in (Outcome.ERROR, Outcome.CANCELLED)
        if result.job_kind == "deploy" and result.jobs and self.verbosity >= 0:
            self._print(deploy_table(result))
        elif len(result.jobs) > 1 and self.verbosity >= 0:
            self._print(summary_table(result))
        self._print(result.message, self.error_stream if bad else self.stream)


class FanOut:
    """Calls each reporter in order; platform reporters come before the console."""

    def __init__(self, reporters: Sequence[Reporter]) -> None:
        self.reporters = tuple(reporters)

    def begin(self, update_id: int) -> None:
        for reporter in self.reporters:
            reporter.begin(update_id)

    def progress(self, message: str) -> None:
        for reporter in self.reporters:
            reporter.progress(message)

    def debug(self, message: str) -> None:
        for reporter in self.reporters:
            reporter.debug(message)

    def warning(self, message: str) -> None:
        for reporter in self.reporters:
            reporter.warning(message)

    def created(self, kind: str, job_id: int) -> None:
        for reporter in self.reporters:
            reporter.created(kind, job_id)

    def end(self, result: Result) -> None:
        """Every reporter is told, even when one of them cannot write its file; the first such
        failure is raised once all have had their turn."""
        failures: list[OSError] = []
        for reporter in self.reporters:
            try:
                reporter.end(result)
            except OSError as exc:
                failures.append(exc)
        if failures:
            raise failures[0]


class Redactor:
    """Last line of defence before any output: masks every secret form (gate.redact) and makes
    each line safe for a CI log (gate.apitext), in messages and in every text of the result."""

    MASK = MASK

    def __init__(self, inner: Reporter, secrets: Sequence[str] | Masker = ()) -> None:
        self.inner = inner
        self.masker = secrets if isinstance(secrets, Masker) else Masker(secrets)

    def redact(self, text: str) -> str:
        # Masked before and after cleaning: removing a control character can join a split secret.
        return self.masker.mask(clean(self.masker.mask(text), one_line=False))

    def redact_result(self, result: Result) -> Result:
        """The result with every text in it, the per-job ones included, masked."""
        return self._redact_value(result)  # type: ignore[no-any-return]

    def _redact_value(self, value: Any) -> Any:
        if isinstance(value, Enum):
            return value
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, tuple):
            return tuple(self._redact_value(item) for item in value)
        if is_dataclass(value) and not isinstance(value, type):
            changes = {f.name: self._redact_value(getattr(value, f.name)) for f in fields(value)}
            return replace(value, **changes)
        return value

    def begin(self, update_id: int) -> None:
        self.inner.begin(update_id)

    def progress(self, message: str) -> None:
        self.inner.progress(self.redact(message))

    def debug(self, message: str) -> None:
        self.inner.debug(self.redact(message))

    def warning(self, message: str) -> None:
        self.inner.warning(self.redact(message))

    def created(self, kind: str, job_id: int) -> None:
        self.inner.created(kind, job_id)

    def end(self, result: Result) -> None:
        self.inner.end(self.redact_result(result))
