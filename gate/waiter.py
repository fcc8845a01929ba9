"""The wait loop: poll each job until it ends or the deadline passes, telling the reporter.

One thread waits on any number of jobs: each job has its own next poll time, and requests to
different jobs are spread at least ``gap`` apart so a fleet of ids never bursts at the API. The gap
is small enough that every id can be polled within ``min_poll_interval`` (many ids ending together
are seen about as soon as one), and when several polls are due at once the job that would
otherwise go longest without one goes first, so the spacing never stretches the time between two
polls of one job past ``poll_interval``.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from gate.client import JobRef, StatusClient
from gate.clock import Clock
from gate.config import Settings, format_duration, summarise_ids
from gate.ending import OUTCOME_PRIORITY, Outcome, worst
from gate.ending import exit_code as ending_exit_code
from gate.errors import ApiError, TimedOut, UnknownJob
from gate.job import JobStatus, Verdict, classify, state_label
from gate.kinds import JobKind
from gate.report import Reporter
from gate.result import JobResult, Result
from gate.schedule import Observation, PollPolicy, next_delay

HEARTBEAT_SECONDS = 60.0
# In a wait on several jobs, one job's request and its retries may take this many request
# timeouts before the other jobs get their turn (a stuck job must not starve them).
STUCK_TURNS = 2
# Longest spacing forced between two requests for different jobs.
MAX_REQUEST_GAP = 0.25


def describe(job: JobRef, status: JobStatus, now: float, elapsed: float) -> str:
    """``update 1234: Running 45% · eta 3m10s · 2m05s elapsed``."""
    head = state_label(status) + (f" {status.progress}%" if status.progress else "")
    parts = [head]
    # An ETA means nothing once the job has ended.
    if status.eta and classify(status).verdict is Verdict.RUNNING:
        left = status.eta - now
        if left >= 0.5:
            parts.append(f"eta {format_duration(left)}")
        elif left > -0.5:
            parts.append("eta now")
        else:
            parts.append(f"eta passed {format_duration(-left)} ago")
    parts.append(f"{format_duration(elapsed)} elapsed")
    return f"{job.label}: " + " · ".join(parts)


@dataclass
class Tracker:
    """What the wait knows of one job."""

    job: JobRef
    next_at: float = 0.0
    polls: int = 0
    last: JobStatus | None = None
    history: list[Observation] = field(default_factory=list)
    shown: tuple[str, int] | None = None
    last_line_at: float = -math.inf
    last_poll_made: bool = False
    sent_at: float = -math.inf  # when its last request left (monotonic)
    outcome: Outcome | None = None
    message: str = ""
    elapsed: float = 0.0

    def last_seen(self) -> str:
        if self.last is None:
            return "no status was read"
        progress = f" {self.last.progress}%" if self.last.progress else ""
        return f"last seen {state_label(self.last)}{progress}"

    def end(self, outcome: Outcome, message: str, elapsed: float) -> None:
        self.outcome, self.message, self.elapsed = outcome, message, elapsed

    def to_result(self) -> JobResult:
        last = self.last
        return JobResult(
            kind=self.job.kind,
            job_id=self.job.job_id,
            outcome=self.outcome or Outcome.CANCELLED,
            message=self.message,
            state_id=last.state_id if last else None,
            state_name=state_label(last) if last else None,
            progress=last.progress if last else None,
            job_error=(last.error or None) if last else None,
            eta=last.eta if last else None,
            polls=self.polls,
            elapsed_seconds=self.elapsed,
        )


class Waiter:
    """Polls jobs until each ends. Gate errors that concern every job (credentials) propagate."""

    def __init__(
        self,
        client: StatusClient,
        settings: Settings,
        clock: Clock,
        reporter: Reporter,
        rng: random.Random | None = None,
        jobs: Sequence[JobRef] | None = None,
        deadline: float | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.clock = clock
        self.reporter = reporter
        self.rng = rng or random.Random()
        self.jobs = tuple(jobs or (JobRef(settings.job, job_id) for job_id in settings.update_ids))
        self.trackers = [Tracker(job) for job in self.jobs]
        self.policy = PollPolicy(settings.poll_interval, settings.min_poll_interval)
        self.gap = min(
            MAX_REQUEST_GAP, min(settings.poll_interval, settings.min_poll_interval) / len(self.jobs)
        )
        self.started = clock.monotonic()
        self.deadline = self.started + settings.timeout if deadline is None else deadline
        self.warnings: list[str] = []
        self.round_trips: deque[float] = deque([0.0], maxlen=16)  # how long recent polls kept the loop busy

    # -- reading the state ---------------------------------------------------------------------

    @property
    def label(self) -> str:
        if len(self.jobs) == 1:
            return self.jobs[0].label
        kind = self.jobs[0].kind
        noun = "updates" if kind is JobKind.IMAGE_UPDATE else f"{kind.value} jobs"
        return f"{len(self.jobs)} {noun}"

    def elapsed(self) -> float:
        return self.clock.monotonic() - self.started

    def last_seen(self) -> str:
        if len(self.trackers) == 1:
            return self.trackers[0].last_seen()
        ended = sum(t.outcome is not None for t in self.trackers)
        return f"{ended} of {len(self.trackers)} ended"

    def _ids(self, trackers: Sequence[Tracker]) -> str:
        # A message stays short however many jobs: a long list is summarised (the result file
        # lists every job).
        return summarise_ids([t.job.job_id for t in trackers], limit=10)

    def _resume_hint(self, open_jobs: Sequence[Tracker]) -> str:
        kind = self.settings.job
        flag = "" if kind is JobKind.IMAGE_UPDATE else f"--job {kind.value} "
        return f"wait again with {flag}--update-id {self._ids(open_jobs)} or raise --timeout"

    # -- ending ----------------------------------------------------------------------------------

    def result(
        self, outcome: Outcome | None = None, message: str | None = None, exit_code: int | None = None
    ) -> Result:
        """The run's result; an explicit outcome (a cut-short run) overrides the jobs' own."""
        jobs = tuple(t.to_result() for t in self.trackers)
        if outcome is None:
            outcome = worst(j.outcome for j in jobs)
        if message is None:
            message = self._summary_message(jobs, outcome)
        single = jobs[0] if len(jobs) == 1 else None
        return Result(
            update_id=single.job_id if single else None,
            outcome=outcome,
            exit_code=int(ending_exit_code(outcome)) if exit_code is None else exit_code,
            message=message,
            state_id=single.state_id if single else None,
            state_name=single.state_name if single else None,
            progress=single.progress if single else None,
            job_error=single.job_error if single else None,
            eta=single.eta if single else None,
            polls=self.client.requests_made,
            elapsed_seconds=self.elapsed(),
            warnings=tuple(self.warnings),
            job_kind=self.jobs[0].kind.value,
            jobs=jobs,
        )

    def _summary_message(self, jobs: Sequence[JobResult], outcome: Outcome) -> str:
        if len(jobs) == 1:
            return jobs[0].message
        counts = ", ".join(
            f"{sum(j.outcome is o for j in jobs)} {o.value.replace('_', ' ')}"
            for o in reversed(OUTCOME_PRIORITY)
            if any(j.outcome is o for j in jobs)
        )
        worst = next((j for j in jobs if j.outcome is outcome), None)
        detail = f"; {worst.message}" if worst and outcome is not Outcome.SUCCEEDED else ""
        return f"{self.label}: {counts} after {format_duration(self.elapsed())}{detail}"

    def cut_short(self, outcome: Outcome, message: str, exit_code: int) -> Result:
        """The result when a signal or a gate error ends the run: open jobs take ``outcome``."""
        for tracker in self.trackers:
            if tracker.outcome is None:
                tracker.end(
                    outcome,
                    f"{tracker.job.label}: {tracker.last_seen()}; may still be running",
                    self.elapsed(),
                )
        return self.result(outcome, message, exit_code)

    def _time_out(self, open_jobs: Sequence[Tracker], detail: str = "") -> None:
        elapsed = self.elapsed()
        extra = f"; {detail}" if detail else ""
        for tracker in open_jobs:
            tracker.end(
                Outcome.TIMED_OUT,
                f"{tracker.job.label}: timed out after {format_duration(elapsed)} "
                f"({tracker.last_seen()}{extra}); it may still be running on Clanforge: "
                f"{self._resume_hint([tracker])}",
                elapsed,
            )
        if len(self.trackers) > 1:
            self.warnings.append(
                f"{len(open_jobs)} of {len(self.trackers)} jobs had not ended at the deadline: "
                + self._resume_hint(open_jobs)
            )

    def _warn(self, tracker: Tracker, message: str) -> None:
        text = f"{tracker.job.label}: {message}"
        if text not in self.warnings:
            self.warnings.append(text)
            self.reporter.warning(text)

    # -- the loop --------------------------------------------------------------------------------

    def _observe(self, tracker: Tracker, status: JobStatus) -> None:
        tracker.last = status
        tracker.history.append(Observation(self.clock.time(), status))
        classification = classify(status)
        if classification.warning:
            self._warn(tracker, classification.warning)
        now = self.clock.monotonic()
        key = (state_label(status), status.progress)
        if key != tracker.shown or now - tracker.last_line_at >= HEARTBEAT_SECONDS:
            self.reporter.progress(describe(tracker.job, status, self.clock.time(), self.elapsed()))
            tracker.shown, tracker.last_line_at = key, now
        if classification.verdict is Verdict.SUCCEEDED:
            tracker.end(
                Outcome.SUCCEEDED,
                f"{tracker.job.label}: succeeded ({classification.reason}) after "
                f"{format_duration(self.elapsed())}, {tracker.polls} requests",
                self.elapsed(),
            )
        elif classification.verdict is Verdict.FAILED:
            tracker.end(
                Outcome.FAILED,
                f"{tracker.job.label}: failed after {format_duration(self.elapsed())}: "
                f"{classification.reason}",
                self.elapsed(),
            )
            if len(self.trackers) > 1:
                self.reporter.progress(tracker.message)

    def _schedule(self, tracker: Tracker, deadline: float) -> None:
        now = self.clock.monotonic()
        delay = next_delay(tracker.history, self.clock.time(), self.policy, self.rng)
        # Never sleep past the deadline. When the next poll would land after it, make one
        # last poll just before it instead; after that, this job is not polled again.
        margin = min(1.0, self.settings.request_timeout, max(0.0, deadline - now) / 2)
        # The interval counts from when the last request left, not from its answer.
        at = now + delay
        if at > tracker.sent_at + self.settings.poll_interval:
            at = tracker.sent_at + self.settings.poll_interval
        if at < deadline - margin:
            tracker.next_at = at
        elif not tracker.last_poll_made:
            tracker.last_poll_made = True
            tracker.next_at = max(now, deadline - margin)
        else:
            tracker.next_at = math.inf

    def _turn_end(self) -> float:
        """When one job's turn (its request and retries) ends in a wait on several jobs."""
        return self.clock.monotonic() + STUCK_TURNS * max(self.settings.request_timeout, self.policy.floor)

    def _pick(self, open_jobs: Sequence[Tracker], last_request: float) -> tuple[Tracker, float]:
        """The job to poll next and when: the earliest due, unless serving it first would leave
        some job more than ``poll_interval`` without a poll; then the job whose interval runs
        out first, early enough for every job after it to be served in time too."""
        interval, gap = self.settings.poll_interval, self.gap
        # A poll occupies the loop for its round trip and the reading of its answer, plus the gap
        # (twice the longest of the recent ones: a slower answer must not make a job late).
        busy = gap + 2 * max(self.round_trips)
        tracker = min(open_jobs, key=lambda t: t.next_at)
        due = max(tracker.next_at, last_request + gap)
        urgent = sorted(
            (t for t in open_jobs if t.next_at < math.inf and t.sent_at > -math.inf), key=lambda t: t.sent_at
        )

        def latest_start(skip: Tracker | None) -> float:
            """The last moment the next poll may start so that, served in order, each job in
            ``urgent`` (but ``skip``) still gets its poll within the interval."""
            latest, position = math.inf, 0
            for t in urgent:
                if t is not skip:
                    latest = min(latest, t.sent_at + interval - position * busy)
                    position += 1
            return latest

        if urgent and due + busy > latest_start(tracker):
            tracker = urgent[0]
            due = max(last_request + gap, min(tracker.next_at, latest_start(None)))
        return tracker, due

    def run(self) -> Result:
        """Wait for every job; return the result once all ended, one failed (fail-fast) or time ran out."""
        deadline = self.deadline
        self.reporter.begin(self.jobs[0].job_id)
        for index, tracker in enumerate(self.trackers):
            tracker.next_at = self.started + index * self.gap
        last_request = -math.inf
        while True:
            open_jobs = [t for t in self.trackers if t.outcome is None]
            if not open_jobs:
                break
            if self.settings.fail_fast and any(
                t.outcome in (Outcome.FAILED, Outcome.ERROR) for t in self.trackers
            ):
                for t in open_jobs:
                    t.end(Outcome.CANCELLED, f"{t.job.label}: not waited for (--fail-fast); {t.last_seen()}",
                          self.elapsed())  # fmt: skip
                break
            tracker, due = self._pick(open_jobs, last_request)
            now = self.clock.monotonic()
            if due >= deadline:
                self.clock.sleep(max(0.0, deadline - now))
                self._time_out(open_jobs)
                break
            if due > now:
                self.clock.sleep(due - now)
            before = self.client.requests_made
            # With several jobs, one that does not answer gets a turn of its own, not the
            # whole deadline: the others are polled in between (see STUCK_TURNS).
            turn_end = deadline if len(self.trackers) == 1 else min(deadline, self._turn_end())
            tracker.sent_at = self.clock.monotonic()
            try:
                status = self.client.fetch(tracker.job, turn_end)
            except TimedOut as exc:
                tracker.polls += self.client.requests_made - before
                if turn_end < deadline and self.clock.monotonic() < deadline:
                    self._warn(tracker, "no answer within its turn; polling the other jobs meanwhile")
                    tracker.next_at = self.clock.monotonic() + self.policy.floor
                    continue
                self._time_out([t for t in self.trackers if t.outcome is None], str(exc))
                break
            except (UnknownJob, ApiError) as exc:
                # About this job only: the others are still worth waiting for.
                tracker.polls += self.client.requests_made - before
                tracker.end(Outcome.ERROR, str(exc), self.elapsed())
                if len(self.trackers) > 1:
                    self.reporter.progress(tracker.message)
                continue
            finally:
                last_request = self.clock.monotonic()
            tracker.polls += self.client.requests_made - before
            self._observe(tracker, status)
            if tracker.outcome is None:
                self._schedule(tracker, deadline)
            # What one poll keeps the loop busy for: the round trip and reading the answer.
            self.round_trips.append(self.clock.monotonic() - tracker.sent_at)
        return self.result()
