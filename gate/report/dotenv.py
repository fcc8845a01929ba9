"""The dotenv report: a run's outcome and job ids as ``NAME=value`` lines for later CI jobs.

GitLab CI reads it as a ``dotenv`` artifact (``gate.report.gitlab`` writes it there); on any
platform it is written when ``CLANFORGE_DOTENV_FILE`` is set. The formatters are pure;
``DotenvReporter`` is the shell that writes the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from gate.kinds import WAITABLE, JobKind
from gate.report.files import write_text_atomic
from gate.report.naming import job_ids, jobs_line
from gate.result import Result

# GitLab refuses a dotenv report of 5 KiB or more; stay well clear of it.
DOTENV_MAX_BYTES = 4096

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
_QUOTES = "\"'`"
FULLWIDTH_NUMBER_SIGN = "\uff03"


def one_line(text: str) -> str:
    """``text`` on one line: control characters and runs of white space become one space."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


def dotenv_value(text: str) -> str:
    """A value GitLab's dotenv parser keeps intact.

    It takes one line per variable, with no escapes: line breaks and control characters become
    spaces, runs of white space one space (it strips the ends anyway). ``#`` would start a
    comment, so it becomes U+FF03, the full-width number sign; quotes at either end would be taken
    for quoting and dropped, so they are dropped here, visibly the same.
    """
    value = one_line(text).replace("#", FULLWIDTH_NUMBER_SIGN)
    return value.strip(_QUOTES + " ")


# Every job of the run as ``kind:id=outcome`` items joined by commas.
JOBS_VARIABLE = "CLANFORGE_JOBS"


def id_variables(ids: Mapping[JobKind, int]) -> dict[str, str]:
    """The job id variables (``JobKind.variable``); an unknown id is empty. A deploy writes them
    as soon as each job is created."""
    return {kind.variable: str(ids[kind]) if kind in ids else "" for kind in WAITABLE}


def dotenv_variables(result: Result, created: Mapping[JobKind, int] | None = None) -> dict[str, str]:
    """The variables a later job gets. None of them is a setting the gate itself reads.

    ``created`` holds the ids a deploy announced on the way (see ``gate.report.naming.job_ids``).
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
    result: Result, *, created: Mapping[JobKind, int] | None = None, max_bytes: int = DOTENV_MAX_BYTES
) -> str:
    """The dotenv report of a run that ended."""
    return dotenv_text(dotenv_variables(result, created), max_bytes=max_bytes)


class DotenvReporter:
    """Writes the dotenv report at the end of a run, whatever the outcome, and the job ids as
    soon as a deploy creates each job (the full report replaces that file at the end)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._created: dict[JobKind, int] = {}

    def begin(self, kind: JobKind, job_ids: Sequence[int]) -> None:
        """Nothing to do before the end."""

    def progress(self, message: str) -> None:
        """Not part of the report."""

    def debug(self, message: str) -> None:
        """Not part of the report."""

    def warning(self, message: str) -> None:
        """Not part of the report."""

    def created(self, kind: JobKind, job_id: int) -> None:
        self.write_created(kind, job_id)

    def write_created(self, kind: JobKind, job_id: int) -> OSError | None:
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
