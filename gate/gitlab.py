"""GitLab CI: a collapsible log section and a dotenv report for later jobs.

The formatters are pure; ``GitLabReporter`` and ``DotenvReporter`` are the shells that print the
section markers and write the report file.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TextIO

from gate.atomic import write_text_atomic
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


def dotenv_variables(result: Result) -> dict[str, str]:
    """The variables a later job gets. None of them is a setting the gate itself reads."""
    return {
        "CLANFORGE_OUTCOME": result.outcome.value,
        "CLANFORGE_EXIT_CODE": str(result.exit_code),
        "CLANFORGE_STATE": result.state_name or "",
        "CLANFORGE_STATE_ID": "" if result.state_id is None else str(result.state_id),
        "CLANFORGE_PROGRESS": "" if result.progress is None else str(result.progress),
        "CLANFORGE_JOB_ERROR": result.job_error or "",
        "CLANFORGE_ELAPSED_SECONDS": f"{result.elapsed_seconds:.1f}",
        "CLANFORGE_GATE_UPDATE_ID": "" if result.update_id is None else str(result.update_id),
        "CLANFORGE_MESSAGE": result.message,
    }


def dotenv_report(result: Result, *, max_bytes: int = DOTENV_MAX_BYTES) -> str:
    """The dotenv report text: ``NAME=value`` lines, under GitLab's size limit.

    When it would be too long, the longest value is shortened (with an ellipsis) until it fits.
    """
    values = {name: dotenv_value(value) for name, value in dotenv_variables(result).items()}

    def render() -> str:
        return "".join(f"{name}={value}\n" for name, value in values.items())

    text = render()
    while len(text.encode("utf-8")) > max_bytes:
        longest = max(values, key=lambda name: len(values[name]))
        excess = len(text.encode("utf-8")) - max_bytes
        keep = max(0, len(values[longest]) - excess - 1)
        if keep == 0 and not values[longest]:
            break
        values[longest] = values[longest][:keep].rstrip() + "\u2026"
        text = render()
    return text


class DotenvReporter:
    """Writes the dotenv report at the end of a wait, whatever the outcome."""

    def __init__(self, path: str) -> None:
        self._path = path

    def begin(self, update_id: int) -> None:
        """Nothing to do before the end."""

    def progress(self, message: str) -> None:
        """Not part of the report."""

    def debug(self, message: str) -> None:
        """Not part of the report."""

    def warning(self, message: str) -> None:
        """Not part of the report."""

    def end(self, result: Result) -> None:
        write_text_atomic(self._path, dotenv_report(result))


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

    def end(self, result: Result) -> None:
        if self._section is not None:
            self._print(section_end(self._section, self._now()))
            self._section = None
            for message in self._warnings:
                self._print(f"{WARNING_LABEL} {_one_line(message)}")
        if self._dotenv is not None:
            self._dotenv.end(result)
