"""The polling schedule: from the statuses seen so far to the next delay.

Pure: no I/O, no clock. The waiter calls ``next_delay`` after each answer and caps the result at
the overall deadline; retries of failed requests are the HTTP client's business, not this module's.

How the next poll is chosen, in order:

1. A sparse cadence that is never more than ``poll_interval`` apart, so a failure at any moment
   is noticed within one interval. The first delay is jittered, which gives each run its own
   phase; after that the polls sit on a fixed grid anchored at the second answer. A fleet of
   pipelines started together therefore does not poll in lockstep, yet the cadence does not
   drift and costs no more requests than a plain loop at the same interval.
2. A dense poll scheduled earlier than the cadence when the job is expected to end soon:
   - a future ``jobeta`` that has not kept moving: one poll just after the ETA (``jobeta`` is in
     whole seconds, so "just after" is half a second past it);
   - otherwise, when ``jobprogress`` moves: the end estimated by extrapolating progress, with
     the moments of change taken from ``jobupdated`` (whole seconds) where it is consistent;
   - once the expected end has passed without the job ending, or when nothing is known at all:
     a backoff from ``min_poll_interval`` growing towards ``poll_interval``.

A delay is never below ``min_poll_interval`` (the waiter may still shorten it at the deadline).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from gate.job import JobStatus

# How many recent answers the ETA and progress heuristics look at. Bounded so that one call
# costs the same after two hours of polling as after two minutes.
ETA_WINDOW = 32
PROGRESS_WINDOW = 64
# An ETA pushed later by more than this counts as moved (it has a resolution of one second).
ETA_MOVE_TOLERANCE = 2.0
# First dense poll after the expected end: jobeta is a whole second, the end may lie anywhere
# in the half second around it.
SETTLE = 0.5
# Growth of the backoff: the delay is this multiple of the time since the backoff began
# (1 s, 3 s, 9 s ... from a 1 s floor). Faster growth costs fewer requests on jobs that say
# nothing; the benchmark shows the detection delay barely changes.
BACKOFF_GROWTH = 2.0


@dataclass(frozen=True)
class Observation:
    """One status answer and the unix time it arrived."""

    at: float
    status: JobStatus


@dataclass(frozen=True)
class PollPolicy:
    """The polling settings: the sparse interval, the densest interval, the jitter fraction."""

    poll_interval: float
    min_poll_interval: float
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if not self.poll_interval > 0:
            raise ValueError(f"poll_interval must be positive, got {self.poll_interval!r}")
        if not self.min_poll_interval > 0:
            raise ValueError(f"min_poll_interval must be positive, got {self.min_poll_interval!r}")
        if not 0 <= self.jitter < 0.5:
            raise ValueError(f"jitter must be in [0, 0.5), got {self.jitter!r}")

    @property
    def floor(self) -> float:
        """The shortest delay: min_poll_interval, but never above poll_interval."""
        return min(self.min_poll_interval, self.poll_interval)


def next_delay(history: Sequence[Observation], now: float, policy: PollPolicy, rng: random.Random) -> float:
    """Seconds to wait before the next status request, given the answers so far."""
    floor = policy.floor
    if not history:
        return floor
    cadence = _cadence_delay(history, now, policy, rng)
    moment, aimed = _dense_target(history, now, policy)
    if aimed:
        # Aimed at an expected end: jitter by a few hundredths of a second only, and earlier
        # rather than later, so the poll stays inside the second the end is due in.
        moment -= policy.jitter * SETTLE * 0.5 * rng.random()
        dense = max(floor, moment - now)
    else:
        dense = max(floor, (moment - now) * (1.0 + policy.jitter * (rng.random() - 0.5)))
    return min(dense, cadence)


def _cadence_delay(
    history: Sequence[Observation], now: float, policy: PollPolicy, rng: random.Random
) -> float:
    """Delay to the next cell of the sparse grid, at most poll_interval.

    Only the first delay is jittered: it sets this run's phase, and the grid anchored at the
    second answer keeps it. Jittering every interval while never exceeding poll_interval would
    shorten the mean interval and cost requests on every long job.
    """
    interval = policy.poll_interval
    if len(history) < 2:
        return max(policy.floor, interval * (1.0 - policy.jitter * rng.random()))
    origin = history[1].at
    cell = math.floor((now - origin) / interval + 0.5)
    target = origin + (cell + 1) * interval
    return min(interval, max(policy.floor, target - now))


def _dense_target(history: Sequence[Observation], now: float, policy: PollPolicy) -> tuple[float, bool]:
    """The unix time of the poll the job's signals ask for, and whether it aims at an expected end.

    The caller takes the earlier of this and the cadence.
    """
    last = history[-1].status
    trusted, passed_at = _eta_reading(history)
    estimate = _progress_estimate(history)
    if trusted and last.eta is not None and last.eta + SETTLE > now:
        # Progress may tell that the job is ahead of its ETA; it never pushes the ETA later.
        if estimate is not None and now < estimate + SETTLE < last.eta:
            return estimate + SETTLE, True
        return last.eta + SETTLE, True
    if estimate is not None:
        if estimate + SETTLE > now:
            return estimate + SETTLE, True
        return _backoff(estimate, now, policy), False
    if passed_at is not None:
        return _backoff(passed_at, now, policy), False
    return _backoff(_job_begin(history), now, policy), False


def _backoff(since: float, now: float, policy: PollPolicy) -> float:
    """Next poll time when backing off from min_poll_interval, begun at ``since``."""
    return now + max(policy.floor, BACKOFF_GROWTH * (now - since))


def _job_begin(history: Sequence[Observation]) -> float:
    """When the job began, as far as we know: its start or creation, else our first answer."""
    first = history[0]
    begun = first.status.start or first.status.created
    if begun and begun <= first.at:
        return float(begun)
    return first.at


def _eta_reading(history: Sequence[Observation]) -> tuple[bool, float | None]:
    """Whether the latest ETA can be trusted, and the earliest ETA seen to pass (if any).

    An ETA is not trusted once it has been pushed later after it had already passed, or pushed
    later twice within the recent window: a server that keeps moving it does not know.
    """
    start = max(0, len(history) - ETA_WINDOW)
    moves = 0
    moved_after_passing = False
    passed_at: float | None = None
    previous: float | None = None
    previous_at = 0.0
    for index in range(start, len(history)):
        observation = history[index]
        eta = observation.status.eta
        if eta is not None:
            if observation.at >= eta and (passed_at is None or eta < passed_at):
                passed_at = float(eta)
            if previous is not None and eta > previous + ETA_MOVE_TOLERANCE:
                moves += 1
                if observation.at >= previous or previous_at >= previous:
                    moved_after_passing = True
            previous = float(eta)
            previous_at = observation.at
    trusted = previous is not None and not moved_after_passing and moves < 2
    return trusted, passed_at


def _progress_estimate(history: Sequence[Observation]) -> float | None:
    """Unix time at which progress should reach 100, extrapolated from its recent pace."""
    count = len(history)
    latest = history[-1].status.progress
    if latest <= 0 or (count > 1 and latest == history[0].status.progress):
        return None
    low = max(0, count - PROGRESS_WINDOW)
    # The most recent change: where the latest value first appears.
    index = count - 1
    while index > low and history[index - 1].status.progress == latest:
        index -= 1
    if index == low:
        if low > 0:
            return None  # no change within the window: progress has stalled
        begun = _job_begin(history)
        # Moved since the job began, but we never saw it move: assume it started at 0 then.
        return _extrapolate(begun, 0, history[0].at, latest) if latest < 100 else history[0].at
    recent = _crossing(history[index - 1], history[index])
    if latest >= 100:
        return recent
    # The oldest change within the window gives the pace over as long a span as we have.
    first = low
    while first + 1 < index and history[first + 1].status.progress == history[first].status.progress:
        first += 1
    if first + 1 < index:
        oldest = _crossing(history[first], history[first + 1])
        oldest_value = history[first + 1].status.progress
    else:
        oldest = _job_begin(history) if low == 0 else history[low].at
        oldest_value = 0 if low == 0 else history[low].status.progress
    return _extrapolate(oldest, oldest_value, recent, latest)


def _extrapolate(then: float, then_value: int, recent: float, latest: int) -> float | None:
    if recent <= then or latest <= then_value:
        return None
    pace = (latest - then_value) / (recent - then)
    return recent + (100 - latest) / pace


def _crossing(before: Observation, after: Observation) -> float:
    """Best guess of when progress changed between two answers.

    ``jobupdated`` says when the job last changed, in whole seconds; when it falls between the
    two answers it pins the change to within a second, else take the midpoint.
    """
    updated = after.status.updated
    if updated and before.at - 1.0 < updated <= after.at and updated > before.status.updated:
        return min(after.at, max(before.at, updated + 0.5))
    return (before.at + after.at) / 2.0
