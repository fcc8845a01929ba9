"""GitLab CI: a collapsible log section and a dotenv report for later jobs.

The formatters are pure; ``GitLabReporter`` and ``DotenvReporter`` are the shells that print the
section markers and write the report file.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from gate.atomic import write_text_atomic
from gate.durations import format_duration
from gate.outputs import job_ids, jobs_line
from gate.result import Result

# Erase-to-end-of-line: GitLab's log viewer hides the marker text between these.
ERASE_LINE = "\x1b[0K"
WARNING_LABEL = "\x1b[33;1mwarning:\x1b[0m"

# GitLab refuses a dotenv report of 5 KiB or more; stay well clear of it.
DOTENV_MAX_BYTES = 4096
DOTENV_DEFAULT_FILE = "clanforge-gate.env"

_SECTION_NAME = re.compile(r"[^A-Za-z0-9_.-]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
_QUOTES = "\"'`"
FULLWIDTH_NUMBER_SIGN = "\uff03"

# The variable holding the id of each job kind; a deploy writes each as soon as the job is created.
ID_VARIABLES = {
    "imageupdate": "CLANFORGE_GATE_UPDATE_ID",
    "imagediff": "CLANFORGE_GATE_DIFF_ID",
    "imageversion": "CLANFORGE_GATE_VERSION_ID",
}


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
    return f"{ERASE_LINE}{marker}\r{ERASE_LINE}{_one_line(header)}"


def section_end(name: str, at: float) -> str:
    """The line that closes a section (without its line break)."""
    return f"{ERASE_LINE}section_end:{int(at)}:{_section_name(name)}\r{ERASE_LINE}"


def _section_name(name: str) -> str:
    return _SECTION_NAME.sub("_", name) or "section"


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


def dotenv_value(text: str) -> str:
    """A value GitLab's dotenv parser keeps intact.

    It takes one line per variable, with no escapes: line breaks and control characters become
    spaces, runs of white space one space (it strips the ends anyway). ``#`` would start a
    comment, so it becomes U+FF03, the full-width number sign; quotes at either end would be taken
    for quoting and dropped, so they are dropped here, visibly the same.
    """
    value = _one_line(text).replace("#", FULLWIDTH_NUMBER_SIGN)
    return value.strip(_QUOTES + " ")


# Every job of the run as ``kind:id=outcome`` items joined by commas.
JOBS_VARIABLE = "CLANFORGE_JOBS"


def id_variables(ids: dict[str, int]) -> dict[str, str]:
    """The job id variables; an unknown id is empty."""
    return {name: str(ids[kind]) if kind in ids else "" for kind, name in ID_VARIABLES.items()}


def dotenv_variables(result: Result, created: dict[str, int] | None = None) -> dict[str, str]:
    """The variables a later job gets. None of them is a setting the gate itself reads.

    ``created`` holds the ids a deploy announced on the way (see ``gate.outputs.job_ids``).
    """
    variables = {
        "CLANFORGE_OUTCOME": result.outcome.value,
        "CLANFORGE_EXIT_CODE": str(result.exit_code),
        "CLANFORGE_STATE": result.state_name or "",
        "CLANFORGE_STATE_ID": "" if result.state_id is None else str(result.state_id),
        "CLANFORGE_PROGRESS": "" if result.progress is None else str(result.progress),
        "CLANFORGE_JOB_ERROR": result.job_error or "",
        "CLANFORGE_ELAPSED_SECONDS": f"{result.elapsed_seconds:.1f}",
    }
    variables.update(id_variables(job_ids(result, created)))
    variables[JOBS_VARIABLE] = jobs_line(result)
    variables["CLANFORGE_MESSAGE"] = result.message
    return variables


def dotenv_text(variables: dict[str, str], *, max_bytes: int = DOTENV_MAX_BYTES) -> str:
    """``NAME=value`` lines, each value made safe, under GitLab's size limit.

    When it would be too long, the longest value is shortened (with an ellipsis) until it fits;
    the list of jobs loses whole items, from the end.
    """
    values = {name: dotenv_value(value) for name, value in variables.items()}

    def render() -> str:
        return "".join(f"{name}={value}\n" for name, value in values.items())

    text = render()
    while len(text.encode("utf-8")) > max_bytes:
        longest = max(values, key=lambda name: len(values[name]))
        excess = len(text.encode("utf-8")) - max_bytes
        keep = max(0, len(values[longest]) - excess - 1)
        if keep == 0 and not values[longest]:
            break
        kept = values[longest][:keep]
        if longest == JOBS_VARIABLE:
            # Whole items only, so what is left still splits into kind:id=outcome items.
            kept = kept[: kept.rfind(",") + 1]
        values[longest] = kept.rstrip() + "\u2026"
        text = render()
    return text


def dotenv_report(
    result: Result, *, created: dict[str, int] | None = None, max_bytes: int = DOTENV_MAX_BYTES
) -> str:
    """The dotenv report of a run that ended."""
    return dotenv_text(dotenv_variables(result, created), max_bytes=max_bytes)


class DotenvReporter:
    """Writes the dotenv report at the end of a run, whatever the outcome, and the job ids as
    soon as a deploy creates each job (the full report replaces that file at the end)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._created: dict[str, int] = {}

    def begin(self, update_id: int) -> None:
        """Nothing to do before the end."""

    def progress(self, message: str) -> None:
        """Not part of the report."""

    def debug(self, message: str) -> None:
        """Not part of the report."""

    def warning(self, message: str) -> None:
        """Not part of the report."""

    def created(self, kind: str, job_id: int) -> None:
        self.write_created(kind, job_id)

    def write_created(self, kind: str, job_id: int) -> OSError | None:
        """Writes the ids known so far at once, so a job cancelled or killed later still hands
        them on; gives back the failure to write, if any, rather than stopping a running deploy
        (the report is written again at the end, where a failure ends the run as an error)."""
        self._created[kind] = job_id
        try:
            write_text_atomic(self._path, dotenv_text(id_variables(self._created)))
        except OSError as exc:
            return exc
        return None

    def end(self, result: Result) -> None:
        write_text_atomic(self._path, dotenv_report(result, created=self._created))


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

    def begin(self, update_id: int) -> None:
        if self._section is None:
            self._section = f"clanforge_gate_{update_id}"
            header = f"Waiting for Clanforge image update {update_id}"
            self._print(section_start(self._section, header, self._now()))

    def progress(self, message: str) -> None:
        """The console reporter prints progress; the section around it is all this adds."""

    def debug(self, message: str) -> None:
        """Verbose lines stay in the console log."""

    def warning(self, message: str) -> None:
        """Kept, to be repeated below the section, where a collapsed log still shows them."""
        if message not in self._warnings:
            self._warnings.append(message)

    def created(self, kind: str, job_id: int) -> None:
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
                self._print(f"{WARNING_LABEL} {_one_line(message)}")
        if self._dotenv is not None:
            self._dotenv.end(result)
