"""Telling people and pipelines what happened: the reporter protocol, the fan-out, the redactor.

Each output has its module here; ``gate.report.platforms`` picks the ones a platform gets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields, is_dataclass, replace
from enum import Enum
from typing import Any, Protocol

from gate.apitext import safe_text
from gate.kinds import JobKind
from gate.redact import Masker
from gate.result import Result


class Reporter(Protocol):
    """What every output is told of a run, in this order: begin, lines as they come, end."""

    def begin(self, kind: JobKind, job_ids: Sequence[int]) -> None:
        """The wait starts."""

    def progress(self, message: str) -> None:
        """A change of state or progress, a heartbeat, or a retry."""

    def debug(self, message: str) -> None:
        """A request and its answer (only shown with --verbose)."""

    def warning(self, message: str) -> None:
        """Something odd that does not stop the wait."""

    def created(self, kind: JobKind, job_id: int) -> None:
        """A job was just created (``deploy``): its id, to be announced at once so a run that is
        cut short can be resumed from it."""

    def end(self, result: Result) -> None:
        """The run is over, whatever the outcome."""


class FanOut:
    """Calls each reporter in order; platform reporters come before the console."""

    def __init__(self, reporters: Sequence[Reporter]) -> None:
        self.reporters = tuple(reporters)

    def _each(self, call: Callable[[Reporter], None]) -> None:
        for reporter in self.reporters:
            call(reporter)

    def begin(self, kind: JobKind, job_ids: Sequence[int]) -> None:
        self._each(lambda reporter: reporter.begin(kind, job_ids))

    def progress(self, message: str) -> None:
        self._each(lambda reporter: reporter.progress(message))

    def debug(self, message: str) -> None:
        self._each(lambda reporter: reporter.debug(message))

    def warning(self, message: str) -> None:
        self._each(lambda reporter: reporter.warning(message))

    def created(self, kind: JobKind, job_id: int) -> None:
        self._each(lambda reporter: reporter.created(kind, job_id))

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

    def __init__(self, inner: Reporter, secrets: Sequence[str] | Masker = ()) -> None:
        self.inner = inner
        self.masker = secrets if isinstance(secrets, Masker) else Masker(secrets)

    def redact(self, text: str) -> str:
        return safe_text(text, self.masker, one_line=False)

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

    def begin(self, kind: JobKind, job_ids: Sequence[int]) -> None:
        self.inner.begin(kind, job_ids)

    def progress(self, message: str) -> None:
        self.inner.progress(self.redact(message))

    def debug(self, message: str) -> None:
        self.inner.debug(self.redact(message))

    def warning(self, message: str) -> None:
        self.inner.warning(self.redact(message))

    def created(self, kind: JobKind, job_id: int) -> None:
        self.inner.created(kind, job_id)

    def end(self, result: Result) -> None:
        self.inner.end(self.redact_result(result))
