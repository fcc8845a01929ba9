"""The wait loop: poll until a final state or the deadline, telling the reporter as it goes."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from gate.client import JobRef, StatusClient
from gate.clock import Clock
from gate.config import Settings, format_duration
from gate.errors import TimedOut
from gate.job import Classification, JobStatus, Verdict, classify, state_label
from gate.report import Reporter
from gate.result import EXIT_CODES, Outcome, Result
from gate.schedule import Observation, PollPolicy, next_delay

HEARTBEAT_SECONDS = 60.0


def describe(job: JobRef, status: JobStatus, now: float, elapsed: float) -> str:
    """``update 1234: Running 45% · eta 3m10s · 2m05s elapsed``."""
    parts = [state_label(status)]
    if status.progress:
        parts[0] += f" {status.progress}%"
    line = [parts[0]]
    if status.eta:
        left = status.eta - now
        line.append(
            f"eta {format_duration(left)}" if left >= 0.5 else f"eta passed {format_duration(-left)} ago"
        )
    line.append(f"{format_duration(elapsed)} elapsed")
    return f"{job.label}: " + " · ".join(line)


@dataclass
class Progress:
    """What the wait has seen so far; read by the CLI to build a result when a run is cut short."""

    job: JobRef
    started: float
    polls: int = 0
    last: JobStatus | None = None
    warnings: list[str] = field(default_factory=list)
    history: list[Observation] = field(default_factory=list)

    def result(self, outcome: Outcome, message: str, exit_code: int, elapsed: float) -> Result:
        last = self.last
        return Result(
            update_id=self.job.job_id,
            outcome=outcome,
            exit_code=exit_code,
            message=message,
            state_id=last.state_id if last else None,
            state_name=(state_label(last) if last else None),
            progress=last.progress if last else None,
            job_error=(last.error or None) if last else None,
            eta=last.eta if last else None,
            polls=self.polls,
            elapsed_seconds=elapsed,
            warnings=tuple(self.warnings),
        )

    def last_seen(self) -> str:
        if self.last is None:
            return "no status was read"
        progress = f" {self.last.progress}%" if self.last.progress else ""
        return f"last seen {state_label(self.last)}{progress}"


class Waiter:
    """Polls one job until it ends. Raises ``TimedOut`` at the deadline; gate errors propagate."""

    def __init__(
        self,
        client: StatusClient,
        settings: Settings,
        clock: Clock,
        reporter: Reporter,
        rng: random.Random | None = None,
        job: JobRef | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.clock = clock
        self.reporter = reporter
        self.rng = rng or random.Random()
        self.job = job or JobRef("imageupdate", settings.update_id)
        self.policy = PollPolicy(settings.poll_interval, settings.min_poll_interval)
        self.progress = Progress(self.job, clock.monotonic())

    def elapsed(self) -> float:
        return self.clock.monotonic() - self.progress.started

    def _warn(self, message: str) -> None:
        if message not in self.progress.warnings:
            self.progress.warnings.append(message)
            self.reporter.warning(f"{self.job.label}: {message}")

    def _final(self, classification: Classification) -> Result:
        elapsed = self.elapsed()
        outcome = Outcome.SUCCEEDED if classification.verdict is Verdict.SUCCEEDED else Outcome.FAILED
        if outcome is Outcome.SUCCEEDED:
            message = (
                f"{self.job.label}: succeeded ({classification.reason}) after "
                f"{format_duration(elapsed)}, {self.progress.polls} requests"
            )
        else:
            message = f"{self.job.label}: failed after {format_duration(elapsed)}: {classification.reason}"
        return self.progress.result(outcome, message, EXIT_CODES[outcome], elapsed)

    def timed_out_result(self, detail: str = "") -> Result:
        elapsed = self.elapsed()
        extra = f"; {detail}" if detail else ""
        message = (
            f"{self.job.label}: timed out after {format_duration(elapsed)} "
            f"({self.progress.last_seen()}{extra}); the update may still be running on Clanforge: "
            f"wait again with --update-id {self.job.job_id} or raise --timeout"
        )
        return self.progress.result(Outcome.TIMED_OUT, message, EXIT_CODES[Outcome.TIMED_OUT], elapsed)

    def run(self) -> Result:
        """Wait for the job; return the result of a final state or of the deadline passing."""
        deadline = self.progress.started + self.settings.timeout
        self.reporter.begin(self.job.job_id)
        shown: tuple[str, int] | None = None
        last_line_at = self.clock.monotonic()
        last_poll_made = False
        while True:
            try:
                status = self.client.fetch(self.job, deadline)
            except TimedOut as exc:
                return self.timed_out_result(str(exc))
            finally:
                self.progress.polls = self.client.requests_made
            self.progress.last = status
            self.progress.history.append(Observation(self.clock.time(), status))
            classification = classify(status)
            if classification.warning:
                self._warn(classification.warning)
            key = (state_label(status), status.progress)
            now = self.clock.monotonic()
            if key != shown or now - last_line_at >= HEARTBEAT_SECONDS:
                self.reporter.progress(describe(self.job, status, self.clock.time(), self.elapsed()))
                shown, last_line_at = key, now
            if classification.verdict is not Verdict.RUNNING:
                return self._final(classification)
            remaining = deadline - now
            if remaining <= 0:
                return self.timed_out_result()
            delay = next_delay(self.progress.history, self.clock.time(), self.policy, self.rng)
            # Never sleep past the deadline. When the next poll would land after it, make one
            # last poll just before it instead; after that, sit out the rest and time out.
            final_margin = min(1.0, self.settings.request_timeout, remaining / 2)
            if delay < remaining - final_margin:
                self.clock.sleep(delay)
            elif not last_poll_made:
                last_poll_made = True
                self.clock.sleep(max(0.0, remaining - final_margin))
            else:
                self.clock.sleep(remaining)
                return self.timed_out_result()
