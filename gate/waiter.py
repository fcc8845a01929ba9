"""The wait loop: poll each thing waited on until it ends or the deadline passes.

The loop knows nothing of what it polls: each is a ``Poller`` (poll it, judge it, its result),
as a job's status (``JobPoller``, here) or a deploy's fleet install (``gate.deploy.fleet``). The
``Waiter`` waits on jobs with it; the deploy drives its install through the same loop.

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
from dataclasses import dataclass
from typing import Protocol

from gate.client import JobRef, StatusClient
from gate.clock import Clock
from gate.config import Settings, summarise_ids
from gate.durations import format_duration
from gate.ending import OUTCOME_PRIORITY, Outcome, worst
from gate.errors import ApiError, TimedOut, UnknownJob
from gate.job import JobStatus, Verdict, classify, state_label
from gate.kinds import JobKind
from gate.report import Reporter
from gate.result import JobResult, Result
from gate.schedule import Observation, PollPolicy, Schedule

HEARTBEAT_SECONDS = 60.0
# In a wait on several jobs, one job's request and its retries may take this many request
# timeouts before the other jobs get their turn (a stuck job must not starve them).
STUCK_TURNS = 2
# Longest spacing forced between two requests for different jobs.
MAX_REQUEST_GAP = 0.25


def describe(job: JobRef, status: JobStatus, now: float, elapsed: float) -> str:
    """``image update 1234: Running 45% · eta 3m10s · 2m05s elapsed``."""
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


# What a poll found when it ended the thing polled: its outcome and the message that says so.
Ending = tuple[Outcome, str]


class Poller(Protocol):
    """One thing the wait loop follows: poll it, judge what it read, its result; and its name,
    what was last seen of it and its timeout message, for the loop's own messages.

    ``poll`` raises TimedOut when the time runs out (the loop decides what that means); an error
    about this one thing alone (the others are still waited on) is kept for ``judge`` to end it
    with; any other error ``poll`` raises ends the whole wait.
    """

    @property
    def label(self) -> str: ...

    def poll(self, until: float) -> None:
        """Read it once, giving up at ``until``."""

    def judge(self, elapsed: float, polls: int) -> Ending | float:
        """Its ending, from what the last poll read (telling the reporter what changed); while it
        is open, the seconds from now to its next poll, by its own schedule."""

    def last_seen(self) -> str:
        """What was last seen of it, for a timeout or a cut-short run."""

    def timed_out(self, elapsed: float, detail: str) -> str:
        """The message of its wait ended by the deadline."""

    def result(self, outcome: Outcome, message: str, polls: int, elapsed: float) -> JobResult:
        """What happened to it, for the run's result."""


@dataclass
class Slot:
    """The loop's own record of one poller: when it is due, its requests, how it ended."""

    poller: Poller
    next_at: float = 0.0
    polls: int = 0
    last_poll_made: bool = False
    sent_at: float = -math.inf  # when its last request left (monotonic)
    outcome: Outcome | None = None
    message: str = ""
    elapsed: float = 0.0

    def end(self, outcome: Outcome, message: str, elapsed: float) -> None:
        self.outcome, self.message, self.elapsed = outcome, message, elapsed

    def to_result(self) -> JobResult:
        return self.poller.result(self.outcome or Outcome.CANCELLED, self.message, self.polls, self.elapsed)


class WaitLoop:
    """Polls each poller on its own schedule until each ends or the deadline passes."""

    def __init__(
        self,
        pollers: Sequence[Poller],
        client: StatusClient,
        settings: Settings,
        clock: Clock,
        reporter: Reporter,
        deadline: float,
    ) -> None:
        self.client = client
        self.settings = settings
        self.clock = clock
        self.reporter = reporter
        self.slots = [Slot(poller) for poller in pollers]
        self.policy = PollPolicy(settings.poll_interval, settings.min_poll_interval)
        self.gap = min(
            MAX_REQUEST_GAP, min(settings.poll_interval, settings.min_poll_interval) / len(self.slots)
        )
        self.started = clock.monotonic()
        self.deadline = deadline  # the run's, from Settings.deadline: never worked out here
        self.warnings: list[str] = []
        self.round_trips: deque[float] = deque([0.0], maxlen=16)  # how long recent polls kept the loop busy

    def elapsed(self) -> float:
        return self.clock.monotonic() - self.started

    def warn(self, label: str, message: str) -> None:
        """A warning about one poller, told once."""
        text = f"{label}: {message}"
        if text not in self.warnings:
            self.warnings.append(text)
            self.reporter.warning(text)

    def _time_out(self, open_slots: Sequence[Slot], detail: str = "") -> None:
        elapsed = self.elapsed()
        for slot in open_slots:
            slot.end(Outcome.TIMED_OUT, slot.poller.timed_out(elapsed, detail), elapsed)
        self.timed_out(open_slots)

    def timed_out(self, open_slots: Sequence[Slot]) -> None:
        """Told after the deadline ended ``open_slots`` (a wait on several jobs warns)."""

    def _schedule(self, slot: Slot, delay: float) -> None:
        """Set the slot's next poll ``delay`` seconds from now, as its poller asks, within the deadline."""
        now, deadline = self.clock.monotonic(), self.deadline
        # Never sleep past the deadline. When the next poll would land after it, make one
        # last poll just before it instead; after that, this one is not polled again.
        margin = min(1.0, self.settings.request_timeout, max(0.0, deadline - now) / 2)
        at = now + delay
        if at < deadline - margin:
            slot.next_at = at
        elif not slot.last_poll_made:
            slot.last_poll_made = True
            slot.next_at = max(now, deadline - margin)
        else:
            slot.next_at = math.inf

    def _turn_end(self) -> float:
        """When one poller's turn (its request and retries) ends in a wait on several."""
        return self.clock.monotonic() + STUCK_TURNS * max(self.settings.request_timeout, self.policy.floor)

    def _pick(self, open_slots: Sequence[Slot], last_request: float) -> tuple[Slot, float]:
        """The slot to poll next and when: the earliest due, unless serving it first would leave
        some slot more than ``poll_interval`` without a poll; then the slot whose interval runs
        out first, early enough for every slot after it to be served in time too."""
        interval, gap = self.settings.poll_interval, self.gap
        # A poll occupies the loop for its round trip and the reading of its answer, plus the gap
        # (twice the longest of the recent ones: a slower answer must not make a slot late).
        busy = gap + 2 * max(self.round_trips)
        slot = min(open_slots, key=lambda s: s.next_at)
        due = max(slot.next_at, last_request + gap)
        urgent = sorted(
            (s for s in open_slots if s.next_at < math.inf and s.sent_at > -math.inf), key=lambda s: s.sent_at
        )

        def latest_start(skip: Slot | None) -> float:
            """The last moment the next poll may start so that, served in order, each slot in
            ``urgent`` (but ``skip``) still gets its poll within the interval."""
            latest, position = math.inf, 0
            for s in urgent:
                if s is not skip:
                    latest = min(latest, s.sent_at + interval - position * busy)
                    position += 1
            return latest

        if urgent and due + busy > latest_start(slot):
            slot = urgent[0]
            due = max(last_request + gap, min(slot.next_at, latest_start(None)))
        return slot, due

    def loop(self) -> None:
        """Poll until every slot ended, one failed (fail-fast) or time ran out."""
        for index, slot in enumerate(self.slots):
            slot.next_at = self.started + index * self.gap
        last_request = -math.inf
        while open_slots := [s for s in self.slots if s.outcome is None]:
            if self._fail_fast(open_slots):
                return
            slot, due = self._pick(open_slots, last_request)
            now = self.clock.monotonic()
            if due >= self.deadline:
                self.clock.sleep(max(0.0, self.deadline - now))
                self._time_out(open_slots)
                return
            if due > now:
                self.clock.sleep(due - now)
            cut_short = self._poll(slot)
            last_request = self.clock.monotonic()
            if cut_short is not None:
                self._time_out([s for s in self.slots if s.outcome is None], cut_short)
                return

    def _fail_fast(self, open_slots: Sequence[Slot]) -> bool:
        """With --fail-fast, once one slot failed: end the open ones, not waited for."""
        if not self.settings.fail_fast or not any(
            s.outcome in (Outcome.FAILED, Outcome.ERROR) for s in self.slots
        ):
            return False
        for s in open_slots:
            message = f"{s.poller.label}: not waited for (--fail-fast); {s.poller.last_seen()}"
            s.end(Outcome.CANCELLED, message, self.elapsed())
        return True

    def _poll(self, slot: Slot) -> str | None:
        """Poll one slot and judge what it read; the reason, when the deadline cut the poll short."""
        several = len(self.slots) > 1
        # With several pollers, one that does not answer gets a turn of its own, not the whole
        # deadline: the others are polled in between (see STUCK_TURNS).
        turn_end = min(self.deadline, self._turn_end()) if several else self.deadline
        before = self.client.requests_made
        slot.sent_at = self.clock.monotonic()
        try:
            slot.poller.poll(turn_end)
        except TimedOut as exc:
            if turn_end >= self.deadline or self.clock.monotonic() >= self.deadline:
                return str(exc)
            self.warn(slot.poller.label, "no answer within its turn; polling the other jobs meanwhile")
            slot.next_at = self.clock.monotonic() + self.policy.floor
            return None
        finally:
            slot.polls += self.client.requests_made - before
        judged = slot.poller.judge(self.elapsed(), slot.polls)
        if isinstance(judged, tuple):
            slot.end(*judged, self.elapsed())
            if several and slot.outcome in (Outcome.FAILED, Outcome.ERROR):
                self.reporter.progress(slot.message)
        else:
            self._schedule(slot, judged)
        # What one poll keeps the loop busy for: the round trip and reading the answer.
        self.round_trips.append(self.clock.monotonic() - slot.sent_at)
        return None


class JobPoller:
    """A poller of one job's status: the schedule from ``gate.schedule``, the verdict from ``gate.job``."""

    def __init__(self, job: JobRef, waiter: Waiter) -> None:
        self.job = job
        self.waiter = waiter
        self.last: JobStatus | None = None
        self._schedule: Schedule | None = None
        self.shown: tuple[str, int] | None = None
        self.last_line_at = -math.inf
        self.sent_at = -math.inf  # when its last request left (monotonic)
        self.error = ""  # an error of this job alone, from the last poll

    @property
    def label(self) -> str:
        return self.job.label

    @property
    def schedule(self) -> Schedule:
        """This job's answers and when to ask next (made on first use: the loop sets the policy)."""
        if self._schedule is None:
            self._schedule = Schedule(self.waiter.policy, self.waiter.rng)
        return self._schedule

    def last_seen(self) -> str:
        if self.last is None:
            return "no status was read"
        progress = f" {self.last.progress}%" if self.last.progress else ""
        return f"last seen {state_label(self.last)}{progress}"

    def poll(self, until: float) -> None:
        self.sent_at = self.waiter.clock.monotonic()
        self.error = ""
        try:
            self.last = self.waiter.client.fetch(self.job, until)
        except (UnknownJob, ApiError) as exc:
            # About this job only (an unknown id, an error answer): the others are still worth
            # waiting for. Credentials refused and the like are raised on: they end every job.
            self.error = str(exc)

    def judge(self, elapsed: float, polls: int) -> Ending | float:
        if self.error:
            return Outcome.ERROR, self.error
        w, status = self.waiter, self.last
        assert status is not None
        client = w.client
        self.schedule.observe(Observation(w.clock.time(), status, client.last_date, client.last_sent))
        classification = classify(status)
        if classification.warning:
            w.warn(self.label, classification.warning)
        now = w.clock.monotonic()
        key = (state_label(status), status.progress)
        if key != self.shown or now - self.last_line_at >= HEARTBEAT_SECONDS:
            # The ETA is on the server's clock: so is the "now" it is told against.
            now_there = w.clock.time() + self.schedule.clock_offset
            w.reporter.progress(describe(self.job, status, now_there, elapsed))
            self.shown, self.last_line_at = key, now
        if classification.verdict is Verdict.SUCCEEDED:
            return (
                Outcome.SUCCEEDED,
                f"{self.label}: succeeded ({classification.reason}) after {format_duration(elapsed)}, "
                f"{polls} request{'' if polls == 1 else 's'}",
            )
        if classification.verdict is Verdict.FAILED:
            return (
                Outcome.FAILED,
                f"{self.label}: failed after {format_duration(elapsed)}: {classification.reason}",
            )
        waited = w.clock.monotonic() - self.sent_at
        return w.policy.from_request(self.schedule.next_delay(w.clock.time()), waited)

    def timed_out(self, elapsed: float, detail: str) -> str:
        extra = f"; {detail}" if detail else ""
        return (
            f"{self.label}: timed out after {format_duration(elapsed)} ({self.last_seen()}{extra}); it may "
            f"still be running on Clanforge: {self.waiter.resume_hint([self.job.job_id])}"
        )

    def result(self, outcome: Outcome, message: str, polls: int, elapsed: float) -> JobResult:
        last = self.last
        return JobResult(
            kind=self.job.kind,
            job_id=self.job.job_id,
            outcome=outcome,
            message=message,
            state_id=last.state_id if last else None,
            state_name=state_label(last) if last else None,
            progress=last.progress if last else None,
            job_error=(last.error or None) if last else None,
            eta=last.eta if last else None,
            polls=polls,
            elapsed_seconds=elapsed,
        )


class Waiter(WaitLoop):
    """Polls jobs until each ends. Gate errors that concern every job (credentials) propagate."""

    def __init__(
        self,
        client: StatusClient,
        settings: Settings,
        clock: Clock,
        reporter: Reporter,
        rng: random.Random | None = None,
        jobs: Sequence[JobRef] | None = None,
        *,
        deadline: float,
    ) -> None:
        self.rng = rng or random.Random()
        self.jobs = tuple(jobs or (JobRef(settings.job, job_id) for job_id in settings.update_ids))
        pollers = [JobPoller(job, self) for job in self.jobs]
        super().__init__(pollers, client, settings, clock, reporter, deadline)

    # -- reading the state ---------------------------------------------------------------------

    @property
    def label(self) -> str:
        return self.jobs[0].kind.labels([job.job_id for job in self.jobs])

    def last_seen(self) -> str:
        if len(self.slots) == 1:
            return self.slots[0].poller.last_seen()
        ended = sum(s.outcome is not None for s in self.slots)
        return f"{ended} of {len(self.slots)} ended"

    def resume_hint(self, job_ids: Sequence[int]) -> str:
        # A message stays short however many jobs: a long list is summarised (the result file
        # lists every job).
        kind = self.settings.job
        flag = "" if kind is JobKind.IMAGE_UPDATE else f"--job {kind.value} "
        return (
            f"wait again with {flag}--update-id {summarise_ids(list(job_ids), limit=10)} or raise --timeout"
        )

    # -- ending ----------------------------------------------------------------------------------

    def result(
        self, outcome: Outcome | None = None, message: str | None = None, signum: int | None = None
    ) -> Result:
        """The run's result; an explicit outcome (a cut-short run) overrides the jobs' own."""
        jobs = tuple(s.to_result() for s in self.slots)
        if outcome is None:
            outcome = worst(j.outcome for j in jobs)
        if message is None:
            message = self._summary_message(jobs, outcome)
        single = jobs[0] if len(jobs) == 1 else None
        return Result(
            update_id=single.job_id if single else None,
            outcome=outcome,
            message=message,
            state_name=single.state_name if single else None,
            polls=self.client.requests_made,
            elapsed_seconds=self.elapsed(),
            warnings=tuple(self.warnings),
            job_kind=self.jobs[0].kind,
            jobs=jobs,
            signum=signum,
        )

    def _summary_message(self, jobs: Sequence[JobResult], outcome: Outcome) -> str:
        if len(jobs) == 1:
            return jobs[0].message
        counts = ", ".join(
            f"{sum(j.outcome is o for j in jobs)} {o.value.replace('_', ' ')}"
            for o in reversed(OUTCOME_PRIORITY)
            if any(j.outcome is o for j in jobs)
        )
        worst_job = next((j for j in jobs if j.outcome is outcome), None)
        detail = f"; {worst_job.message}" if worst_job and outcome is not Outcome.SUCCEEDED else ""
        return f"{self.label}: {counts} after {format_duration(self.elapsed())}{detail}"

    def cut_short(self, outcome: Outcome, message: str, signum: int | None = None) -> Result:
        """The result when a signal or a gate error ends the run: open jobs take ``outcome``."""
        for slot in self.slots:
            if slot.outcome is None:
                slot.end(
                    outcome,
                    f"{slot.poller.label}: {slot.poller.last_seen()}; may still be running",
                    self.elapsed(),
                )
        return self.result(outcome, message, signum)

    def timed_out(self, open_slots: Sequence[Slot]) -> None:
        if len(self.slots) > 1:
            ids = [s.poller.job.job_id for s in open_slots if isinstance(s.poller, JobPoller)]
            self.warnings.append(
                f"{len(open_slots)} of {len(self.slots)} jobs had not ended at the deadline: "
                + self.resume_hint(ids)
            )

    # -- the loop --------------------------------------------------------------------------------

    def run(self) -> Result:
        """Wait for every job; return the result once all ended, one failed (fail-fast) or time ran out."""
        self.reporter.begin(self.jobs[0].kind, [job.job_id for job in self.jobs])
        self.loop()
        return self.result()
