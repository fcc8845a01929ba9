"""How every command ends: one context manager turns any exception into a result, which then
goes to every output, and the run exits with that result's code.

``wait``, ``deploy`` and ``check`` run inside :func:`ending` with their settings and runner;
``main`` runs the parsing and the ``simulate`` and ``demo`` commands inside one too. The exit
codes come from ``gate.ending`` and nowhere else.
"""

from __future__ import annotations

import argparse
import signal
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from gate.clock import Clock
from gate.config import Settings, result_file_hint
from gate.durations import format_duration
from gate.ending import Outcome, exit_code
from gate.errors import Cancelled, ConfigError, GateError
from gate.parser import PROG
from gate.report import FanOut, Redactor, Reporter
from gate.report.console import ConsoleReporter
from gate.report.platforms import platform_reporters
from gate.report.result_file import write_result_file
from gate.result import Result


class Runner(Protocol):
    """What the CLI drives: the wait on jobs, or the whole deploy."""

    @property
    def label(self) -> str: ...

    def last_seen(self) -> str: ...

    def run(self) -> Result: ...

    def cut_short(self, outcome: Outcome, message: str, signum: int | None = None) -> Result: ...


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


@dataclass
class Ending:
    """What a command has learnt so far; whatever stops it, its ending is made from this.

    ``started`` is None until the command proper starts (before that a signal cancels a run
    that started nothing); ``name`` prefixes the messages of errors with no job to name.
    """

    env: Mapping[str, str]
    stdout: TextIO
    stderr: TextIO
    clock: Clock | None = None
    args: argparse.Namespace | None = None
    name: str = PROG
    started: float | None = None
    verbosity: int = 0
    settings: Settings | None = None
    runner: Runner | None = None
    reporter: Reporter | None = None
    result: Result | None = None
    console: ConsoleReporter = field(init=False)

    def __post_init__(self) -> None:
        self.console = ConsoleReporter(self.stdout, self.verbosity, self.stderr)

    def _elapsed(self) -> float:
        if self.clock is None or self.started is None:
            return 0.0
        return self.clock.monotonic() - self.started

    def _cut_short(self, outcome: Outcome, message: str, signum: int | None = None) -> Result:
        if self.runner is not None:
            return self.runner.cut_short(outcome, message, signum)
        settings = self.settings
        return Result(
            update_id=settings.update_id if settings and len(settings.update_ids) == 1 else None,
            outcome=outcome,
            message=message,
            elapsed_seconds=self._elapsed(),
            signum=signum,
        )

    def cancelled(self, exc: Cancelled) -> None:
        if self.started is None:
            message = f"{self.name}: cancelled by {signal_name(exc.signum)} before anything was started"
        else:
            label = self.runner.label if self.runner else self.name
            last = f" ({self.runner.last_seen()})" if self.runner else ""
            message = (
                f"{label}: cancelled by {signal_name(exc.signum)} after {format_duration(self._elapsed())}"
                f"{last}; what was started may still be running on Clanforge"
            )
        self.result = self._cut_short(Outcome.CANCELLED, message, exc.signum)

    def failed(self, exc: GateError) -> None:
        text = str(exc)
        message = text if ": " in text and not isinstance(exc, ConfigError) else f"{self.name}: {text}"
        self.result = self._cut_short(Outcome.ERROR, message)

    def crashed(self, exc: Exception) -> None:
        """A bug: still an ending with the documented exit code, and the traceback only on --verbose."""
        if self.verbosity > 0:
            traceback.print_exc(file=self.stderr)
        message = (
            f"{self.name}: internal error ({type(exc).__name__}: {exc}); please report it, with the "
            "output of --verbose"
        )
        self.result = self._cut_short(Outcome.ERROR, message)

    def finish(self) -> int:
        """Write the result to every output; return the exit code. A second signal exits at once."""
        assert self.result is not None
        try:
            reporter = self.reporter or self.console
            if self.settings is None:
                # The settings did not validate: the platform still hears of the ending.
                reporter = Redactor(
                    FanOut(
                        [
                            *platform_reporters(self.env, None, stream=self.stdout, args=self.args),
                            self.console,
                        ]
                    )
                )
            if self.settings is not None:
                path = self.settings.result_file
            else:
                path = result_file_hint(self.args or argparse.Namespace(), self.env)
            return write_everywhere(self.result, reporter, self.console, path)
        except Cancelled as exc:
            return int(exit_code(Outcome.CANCELLED, exc.signum))


@contextmanager
def ending(end: Ending) -> Iterator[Ending]:
    """Run the block; any exception it raises becomes ``end.result`` (never a traceback)."""
    try:
        yield end
    except Cancelled as exc:
        end.cancelled(exc)
    except GateError as exc:
        end.failed(exc)
    except Exception as exc:
        end.crashed(exc)


def write_everywhere(
    result: Result, reporter: Reporter, console: ConsoleReporter, result_path: str | None
) -> int:
    """Tell everyone the result and write the result file, each on its own: one output that
    cannot be written does not stop the others; ``gate.ending.exit_code`` then gives the code."""
    if isinstance(reporter, Redactor):
        result = reporter.redact_result(result)
    failed: list[str] = []
    try:
        reporter.end(result)
    except OSError as exc:
        failed.append(f"a CI output file ({exc.strerror or type(exc).__name__}: {exc.filename or ''})")
    if result_path:
        try:
            write_result_file(result_path, result)
        except OSError as exc:
            failed.append(f"the result file {result_path} ({exc.strerror or type(exc).__name__})")
    if not failed:
        return result.exit_code
    code = int(exit_code(result.outcome, result.signum, outputs_written=False))
    print(
        f"{PROG}: cannot write {' and '.join(failed)}; check the path and its permissions "
        f"(the outcome above stands: {result.outcome.value}; exit code {code})",
        file=console.error_stream,
        flush=True,
    )
    return code
