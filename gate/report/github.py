"""GitHub Actions: workflow commands, step outputs, the job summary and the reporter using them.

The formatters are pure (text in, text out). ``GitHubReporter`` is the thin shell that prints the
commands and appends to the files the runner names in ``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import TextIO

from gate.durations import format_duration
from gate.ending import Outcome
from gate.kinds import WAITABLE, JobKind
from gate.report.files import append_text
from gate.report.naming import job_ids, job_label, jobs_json, per_job, run_name, waiting_header
from gate.result import Result

# The order matters: "%" first, so the escapes added after it are not escaped again.
_DATA_ESCAPES = (("%", "%25"), ("\r", "%0D"), ("\n", "%0A"))
_PROPERTY_ESCAPES = (*_DATA_ESCAPES, (":", "%3A"), (",", "%2C"))

OUTPUT_NAMES = (
    "outcome",
    "exit-code",
    "state",
    "progress",
    "job-error",
    "elapsed-seconds",
    "message",
    # The id of each job kind (``JobKind.output``); a deploy sets each as soon as the job is created.
    *(kind.output for kind in WAITABLE),
    "jobs",
)

_FAILURE_TITLES = {
    Outcome.FAILED: "{job} failed",
    Outcome.TIMED_OUT: "{job}: gate timed out",
    Outcome.ERROR: "{job}: gate error",
    Outcome.CANCELLED: "{job}: gate cancelled",
}

_HEADLINES = {
    Outcome.SUCCEEDED: ":white_check_mark: {job} succeeded",
    Outcome.FAILED: ":x: {job} failed",
    Outcome.TIMED_OUT: ":hourglass: {job}: timed out waiting",
    Outcome.ERROR: ":warning: {job}: the gate could not decide",
    Outcome.CANCELLED: ":no_entry_sign: {job}: the gate was cancelled",
}


def _title(result: Result) -> str:
    """How a whole run is named in titles: ``Clanforge image diff 22``, ``Clanforge deploy``."""
    return f"Clanforge {run_name(result)}"


def escape_data(text: str) -> str:
    """Escape a workflow command's message the way the Actions toolkit does."""
    for raw, escaped in _DATA_ESCAPES:
        text = text.replace(raw, escaped)
    return text


def escape_property(text: str) -> str:
    """Escape a workflow command's property value (also ``:`` and ``,``, which delimit properties)."""
    for raw, escaped in _PROPERTY_ESCAPES:
        text = text.replace(raw, escaped)
    return text


def workflow_command(command: str, message: str = "", properties: Mapping[str, str] | None = None) -> str:
    """One ``::command key=value,...::message`` line, without the line break."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in (properties or {}).items())
    head = f"::{command} {props}" if props else f"::{command}"
    return f"{head}::{escape_data(message)}"


def _random_delimiter() -> str:
    return f"clanforge_gate_{secrets.token_hex(16)}"


def output_entry(name: str, value: str, *, delimiter: Callable[[], str] = _random_delimiter) -> str:
    """A ``name<<DELIM`` block for ``$GITHUB_OUTPUT``, safe for any value, multi-line included.

    The runner reads the file line by line (CR, LF and CRLF all end a line) and joins a value's
    lines with LF, so line breaks are normalised to LF here: what the runner gives back is exactly
    ``value`` with CRLF and CR turned into LF. The delimiter is random and redrawn until it occurs
    in neither the name nor the value, so a value can never end its block early.
    """
    if not name or any(ch in name for ch in "\r\n=<"):
        raise ValueError(f"invalid output name {name!r}")
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    token = delimiter()
    while token in value or token in name:
        token = delimiter()
    return f"{name}<<{token}\n{value}\n{token}\n"


def _number(value: float) -> str:
    return f"{value:.1f}"


def outputs_for(result: Result, created: Mapping[JobKind, int] | None = None) -> dict[str, str]:
    """The action's outputs for a result; an unknown value is the empty string.

    ``created`` holds the ids a deploy announced on the way, so a run cut short before it waited
    on a job still names it.
    """
    ids = job_ids(result, created)
    outputs = {
        "outcome": result.outcome.value,
        "exit-code": str(result.exit_code),
        "state": result.state_name or "",
        "progress": "" if result.progress is None else str(result.progress),
        "job-error": result.job_error or "",
        "elapsed-seconds": _number(result.elapsed_seconds),
        "message": result.message,
    }
    for kind in WAITABLE:
        outputs[kind.output] = str(ids[kind]) if kind in ids else ""
    outputs["jobs"] = jobs_json(result)
    return outputs


def outputs_file_text(
    result: Result,
    *,
    created: Mapping[JobKind, int] | None = None,
    delimiter: Callable[[], str] = _random_delimiter,
) -> str:
    """All outputs as one chunk to append to ``$GITHUB_OUTPUT``."""
    return "".join(
        output_entry(name, value, delimiter=delimiter) for name, value in outputs_for(result, created).items()
    )


_MD_SPECIAL = "\\`*_[]|~#"


def markdown_text(text: str) -> str:
    """Text safe inside a Markdown table cell: HTML and Markdown neutralised, one line."""
    escaped = html.escape(text, quote=False)
    escaped = "".join(f"\\{ch}" if ch in _MD_SPECIAL else ch for ch in escaped)
    return escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def _state_text(state_name: str | None, state_id: int | None) -> str:
    state = state_name or ""
    if state_id is not None:
        state = f"{state} ({state_id})" if state else f"state {state_id}"
    return state


def _jobs_table(result: Result) -> list[str]:
    """One row per job of the run."""
    lines = [
        "| Job | Outcome | State | Progress | Requests | Waited | Job error |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for job in result.jobs:
        cells = (
            job_label(job.kind, job.job_id),
            job.outcome.value,
            _state_text(job.state_name, job.state_id) or "-",
            "-" if job.progress is None else f"{job.progress}%",
            str(job.polls),
            format_duration(job.elapsed_seconds),
            job.job_error or "",
        )
        lines.append("| " + " | ".join(markdown_text(cell) for cell in cells) + " |")
    return lines


_GANTT_TAGS = {
    Outcome.SUCCEEDED: "done",
    Outcome.FAILED: "crit",
    Outcome.ERROR: "crit",
    Outcome.TIMED_OUT: "crit",
    Outcome.CANCELLED: "active",
}


def _gantt_text(text: str) -> str:
    """Text safe in a Mermaid gantt line: no ``:`` (ends a task name), ``;`` or ``#``, one line."""
    return " ".join(re.sub(r"[:;#%`]", " ", text).split())


def deploy_gantt(result: Result) -> list[str]:
    """A deploy's chain as a Mermaid Gantt chart, which GitHub renders in a job summary.

    Each step is a bar as long as the gate waited on it, laid end to end in the chain's order (the
    create calls between the steps are not shown); the axis counts minutes and seconds from the
    start. Red (crit) for a step that failed, timed out or could not be decided, grey (done) for
    one that succeeded. Times are milliseconds since the start (``dateFormat x``): Mermaid reads
    a task's start and end alike in that format, whereas with whole seconds (``X``) it reads a
    bare number as a start in milliseconds.
    """
    lines = [
        "```mermaid",
        "gantt",
        f"    title {_gantt_text(_title(result))}, step by step",
        "    dateFormat x",
        "    axisFormat %M:%S",
        "    section Steps",
    ]
    # A bar is at least a second long, to stay visible, and starts where the one before it ends.
    end, last = 0.0, 0
    for index, job in enumerate(result.jobs, 1):
        end += max(job.elapsed_seconds, 0.0)
        first, last = last, max(round(end * 1000), last + 1000)
        waited = format_duration(job.elapsed_seconds)
        name = f"{job_label(job.kind, job.job_id)} · {job.outcome.value} · {waited}"
        tag = _GANTT_TAGS[job.outcome]
        lines.append(f"    {_gantt_text(name)} :{tag}, step{index}, {first}, {last}")
    lines.append("```")
    return lines


def job_summary(result: Result) -> str:
    """A Markdown job summary for ``$GITHUB_STEP_SUMMARY``: one table of the run, for several
    jobs or a deploy a row per job, and for a deploy its chain as a Gantt chart."""
    if per_job(result):
        rows = [
            ("Outcome", f"{result.outcome.value} (exit code {result.exit_code})"),
            ("Jobs", str(len(result.jobs))),
        ]
    else:
        rows = [
            ("Outcome", f"{result.outcome.value} (exit code {result.exit_code})"),
            ("Job state", _state_text(result.state_name, result.state_id) or "unknown"),
            ("Progress", "unknown" if result.progress is None else f"{result.progress}%"),
        ]
        if result.job_error:
            rows.append(("Job error", result.job_error))
    rows += [
        ("Status requests", str(result.polls)),
        ("Waited", format_duration(result.elapsed_seconds)),
    ]
    lines = [
        f"### {_HEADLINES[result.outcome].format(job=_title(result))}",
        "",
        markdown_text(result.message),
        "",
        "| | |",
        "| --- | --- |",
        *(f"| {name} | {markdown_text(value)} |" for name, value in rows),
    ]
    if per_job(result) and result.jobs:
        lines += ["", *_jobs_table(result)]
    if result.is_deploy and result.jobs:
        lines += ["", *deploy_gantt(result)]
    if result.warnings:
        lines += ["", "**Warnings**", ""]
        lines += [f"- {markdown_text(warning)}" for warning in result.warnings]
    return "\n".join(lines) + "\n\n"


def error_annotation(result: Result) -> str | None:
    """An ``::error title=...::`` line for any outcome but success."""
    title = _FAILURE_TITLES.get(result.outcome)
    if title is None:
        return None
    return workflow_command("error", result.message, {"title": title.format(job=_title(result))})


class GitHubReporter:
    """Reports a wait in GitHub Actions' own terms.

    The progress log goes inside a ``::group::``, warnings become ``::warning::`` annotations, any
    outcome but success an ``::error::`` annotation, request lines ``::debug::`` messages (so
    re-running with debug logging shows them, no input needed); outputs and a job summary are
    appended to the files the runner names. Must sit before the console reporter in a fan-out,
    so the group opens before the first progress line and closes before the final one.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        output_path: str | None,
        summary_path: str | None,
        delimiter: Callable[[], str] = _random_delimiter,
    ) -> None:
        self._stream = stream
        self._output_path = output_path
        self._summary_path = summary_path
        self._delimiter = delimiter
        self._group_open = False
        self._created: dict[JobKind, int] = {}

    def _print(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()

    def begin(self, kind: JobKind, job_ids: Sequence[int]) -> None:
        if not self._group_open:
            self._print(workflow_command("group", waiting_header(kind, job_ids)))
            self._group_open = True

    def progress(self, message: str) -> None:
        """The console reporter prints progress; the group around it is all this adds."""

    def debug(self, message: str) -> None:
        """Request lines as ``::debug::``: shown when the run has step debug logging on."""
        self._print(workflow_command("debug", message))

    def warning(self, message: str) -> None:
        self._print(workflow_command("warning", message))

    def created(self, kind: JobKind, job_id: int) -> None:
        """Sets the job's id output at once: a run cancelled or timed out later still tells the
        next step which job to resume. The runner keeps the last value an output was given."""
        if not kind.output:
            return
        self._created[kind] = job_id
        name = kind.output
        if not self._output_path:
            return
        try:
            append_text(self._output_path, output_entry(name, str(job_id), delimiter=self._delimiter))
        except OSError as exc:
            # The job is running: stopping the deploy here would leave it unwatched. The outputs
            # are written again at the end, where a failure to write ends the run as an error.
            self._print(
                workflow_command(
                    "warning", f"cannot set the {name} output yet ({exc}); it is set again at the end"
                )
            )

    def end(self, result: Result) -> None:
        if self._group_open:
            self._print(workflow_command("endgroup"))
            self._group_open = False
        annotation = error_annotation(result)
        if annotation is not None:
            self._print(annotation)
        # Try both files before giving up on either; the CLI turns the failure into a gate error.
        failures: list[OSError] = []
        for path, text in (
            (
                self._output_path,
                outputs_file_text(result, created=self._created, delimiter=self._delimiter),
            ),
            (self._summary_path, job_summary(result)),
        ):
            if path:
                try:
                    append_text(path, text)
                except OSError as exc:
                    failures.append(exc)
        if failures:
            raise failures[0]
