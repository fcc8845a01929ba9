"""GitLab CI: a collapsible log section, and the dotenv report for later jobs.

The formatters are pure; ``GitLabReporter`` is the shell that prints the section markers and has
``gate.report.dotenv`` write the report file.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TextIO

from gate.durations import format_duration
from gate.kinds import JobKind
from gate.report.dotenv import DotenvReporter, one_line
from gate.report.naming import waiting_header
from gate.result import Result

# Erase-to-end-of-line: GitLab's log viewer hides the marker text between these.
ERASE_LINE = "\x1b[0K"
WARNING_LABEL = "\x1b[33;1mwarning:\x1b[0m"

_SECTION_NAME = re.compile(r"[^A-Za-z0-9_.-]")
# The dotenv report's file on GitLab when CLANFORGE_DOTENV_FILE is not set.
DOTENV_DEFAULT_FILE = "clanforge-gate.env"
# What a job needs past the gate's deadline: its last request, its reports, the runner's upload.
JOB_LIMIT_MARGIN_SECONDS = 60.0
JOB_TIMEOUT_ENV = "CI_JOB_TIMEOUT"


def job_limit_problem(env: Mapping[str, str], timeout: float) -> str | None:
    """Why the gate's ``timeout`` cannot end before GitLab kills the job, or None.

    GitLab gives each job its time limit in seconds as ``CI_JOB_TIMEOUT``; a job killed at the
    limit writes no result and no reports, so a deadline that does not leave
    ``JOB_LIMIT_MARGIN_SECONDS`` under it is refused before anything starts.
    """
    if env.get("GITLAB_CI", "").strip().lower() != "true":
        return None
    raw = env.get(JOB_TIMEOUT_ENV, "").strip()
    if not raw.isdigit() or int(raw) <= 0:
        return None
    limit = float(raw)
    if timeout + JOB_LIMIT_MARGIN_SECONDS <= limit:
        return None
    return (
        f"timeout: {format_duration(timeout)} does not fit in this GitLab job's time limit of "
        f"{format_duration(limit)} ({JOB_TIMEOUT_ENV}={raw}), and a job killed at its limit leaves "
        f"no result; raise the job's timeout (the component's job-timeout input) to at least "
        f"{format_duration(timeout + JOB_LIMIT_MARGIN_SECONDS)}, or lower timeout"
    )


def section_start(name: str, header: str, at: float, *, collapsed: bool = True) -> str:
    """The line that opens a collapsible section (without its line break)."""
    option = "[collapsed=true]" if collapsed else ""
    marker = f"section_start:{int(at)}:{_section_name(name)}{option}"
    return f"{ERASE_LINE}{marker}\r{ERASE_LINE}{one_line(header)}"


def section_end(name: str, at: float) -> str:
    """The line that closes a section (without its line break)."""
    return f"{ERASE_LINE}section_end:{int(at)}:{_section_name(name)}\r{ERASE_LINE}"


def _section_name(name: str) -> str:
    return _SECTION_NAME.sub("_", name) or "section"


class GitLabReporter:
    """Reports a wait in GitLab CI's terms: the progress log in a collapsed section, then a dotenv
    report. Must sit before the console reporter in a fan-out, so the section opens before the
    first progress line and closes before the final one.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        dotenv_path: str | None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._stream = stream
        self._now = now
        self._dotenv = DotenvReporter(dotenv_path) if dotenv_path else None
        self._section: str | None = None
        self._warnings: list[str] = []

    def _print(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()

    def begin(self, kind: JobKind, job_ids: Sequence[int]) -> None:
        if self._section is None:
            self._section = f"clanforge_gate_{job_ids[0] if job_ids else 0}"
            self._print(section_start(self._section, waiting_header(kind, job_ids), self._now()))

    def progress(self, message: str) -> None:
        """The console reporter prints progress; the section around it is all this adds."""

    def debug(self, message: str) -> None:
        """Verbose lines stay in the console log."""

    def warning(self, message: str) -> None:
        """Kept, to be repeated below the section, where a collapsed log still shows them."""
        if message not in self._warnings:
            self._warnings.append(message)

    def created(self, kind: JobKind, job_id: int) -> None:
        if self._dotenv is None:
            return
        failure = self._dotenv.write_created(kind, job_id)
        if failure is not None:
            self.warning(f"cannot write the dotenv report yet ({failure}); it is written again at the end")

    def end(self, result: Result) -> None:
        if self._section is not None:
            self._print(section_end(self._section, self._now()))
            self._section = None
            for message in self._warnings:
                self._print(f"{WARNING_LABEL} {one_line(message)}")
        if self._dotenv is not None:
            self._dotenv.end(result)
