"""The polling schedule: from the statuses seen so far to the next delay.

Pure: no I/O, no clock. The wait loop keeps a ``Schedule`` for each job, asks it after each
answer and caps the result at the overall deadline; retries of failed requests are the HTTP
client's business, not this module's.

How the next poll is chosen:

1. A sparse cadence: never more than ``poll_interval`` (P) after the last poll, so a failure at
   any moment is noticed within one interval. The second poll comes P after the first, as in a
   plain loop (a job shorter than P is seen as early as the loop sees it). The third comes a
   random 0-``jitter`` x P early, which sets this run's phase: pipelines started together spread
   over the interval whatever their jobs say, for about ``jitter / 2`` of a request.
2. A dense poll, earlier than the cadence, half a second after the moment the job is expected
   to end, when that moment falls before the next cadence poll. Two signals give that moment:
   - ``jobeta`` (whole seconds, so half a second past it covers the rounding);
   - ``jobprogress``, extrapolated from a fit (a line, or a parabola once there are enough
     points, through at least the last ``CURVE_SPAN`` changes) through its recent changes,
     each timed with ``jobupdated`` where that pins it, and weighted by how exactly its moment
     is known.
   Each signal is judged by its record: how far its recent estimates of the end were from what
   it says now, as a share of the time then left. A signal with a poor record is not used.
   When both are usable and agree, an ETA that has held still wins (it is the finer), else the
   earlier of the two; when they disagree, the better record wins (a never-revised ETA counts as
   a middling record: holding still proves nothing). An ETA half a second past is dropped; a
   progress estimate that has just passed is chased once or twice (1 s, then 2x the time since).
   An ETA seen in one answer only, with no progress to go by, may be exact or a steady share over
   the time left: the first look goes where a modest share over puts the end, a little earlier.
3. A budget: a dense poll is made only while the requests so far, plus that one, stay within
   ``EXTRA_REQUESTS`` (a chase: ``CHASE_REQUESTS``) of what a plain loop at P would have made by
   the same moment. A signal that keeps being wrong therefore costs a bounded number of requests
   over the whole job, and there is no backoff burst: the cadence simply carries on.

A delay is never below ``min_poll_interval`` (the waiter may still shorten it at the deadline).

``next_delay`` works all of this out from the answers each time it is asked. ``Schedule`` keeps one
job's answers and what it worked out from them (the changes of progress in view, the fits through
them), and gives the same delays for a fraction of the work: the wait loop and the benchmark's
replays use it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from gate import progress_fit
from gate.eta_trend import TREND_POINTS, EtaPoint, eta_points, first_look, trend_end
from gate.observation import Observation as Observation  # where the wait loop and tests get it
from gate.progress_fit import Crossing, fit_end
from gate.server_clock import ClockBounds, answer_bounds, clock_bounds, on_server_clock

# How many recent answers the heuristics look at. Bounded so that one call costs the same after
# two hours of polling as after two minutes.
ETA_WINDOW = 6
# ... and how many the trend of a re-estimated ETA is drawn from.
TREND_WINDOW = 24
PROGRESS_WINDOW = 48
# The pace is fitted over at least this many changes before the latest.
MIN_CHANGES = 2
# The curve is fitted through at least this many changes, even when the line's span (about as
# much progress as is left) holds fewer: near the end of a job that slows down or speeds up, the
# last few changes alone cannot show the bend, and a line through them misses the end by it.
CURVE_SPAN = 6
# How many recent progress estimates are compared to judge whether progress keeps its word.
PROGRESS_RECORD = 3
# First dense poll after the expected end: jobeta is a whole second, the end may lie anywhere
# in the half second around it.
SETTLE = 0.5
# A signal is used while each of its recent estimates of the end was within this share of the
# time then left from what it says now (its record).
MAX_RECORD = 0.25
# ... where the time left counts as at least this many seconds: an estimate is never more exact
# than the moments it is made from (whole seconds, or the midpoint between two answers).
RECORD_HORIZON = 120.0
# Progress whose record is within this share is believed over an ETA that disagrees with it.
PROGRESS_TRUST = 0.1
# The ETA and progress "agree" when they are this many seconds apart, plus progress's record
# times the time left.
AGREEMENT = 2.0
# Once an expected end has passed, the next poll waits this multiple of the time since then.
BACKOFF_GROWTH = 2.0
# ... for as long as it passed at most this many seconds ago.
CHASE = 2.0
# Requests a job may cost over a plain loop at the same interval, spent on dense polls only.
EXTRA_REQUESTS = 2.0
# ... of which chasing an expected end that has just passed may spend this many.
CHASE_REQUESTS = 1.0


@dataclass(frozen=True)
class PollPolicy:
    """The polling settings: the sparse interval, the densest interval, the phase spread.

    ``jitter``: the third poll comes up to this fraction of ``poll_interval`` early, which sets the
    run's phase on its grid.
    """

    poll_interval: float
    min_poll_interval: float
    jitter: float = 0.4

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

    def from_request(self, delay: float, waited: float) -> float:
        """``delay`` counted from an answer that came ``waited`` seconds after its request left,
        never more than ``poll_interval`` after that request: the interval counts from when a
        request leaves, not from its answer."""
        return min(delay, self.poll_interval - waited)

    def cadence(self, answers: int, rng: random.Random) -> float:
        """The sparse cadence's delay after ``answers`` answers: P, except after the second, P
        shortened by a random share of up to ``jitter``, which sets the run's phase on its grid.
        Every poller of the wait loop (a job, the fleet install) keeps this one cadence."""
        if answers == 2:
            return max(self.floor, self.poll_interval * (1.0 - self.jitter * rng.random()))
        return self.poll_interval


def next_delay(history: Sequence[Observation], now: float, policy: PollPolicy, rng: random.Random) -> float:
    """Seconds to wait before the next status request, given the answers so far."""
    offset = clock_bounds(history).offset
    return _next_delay(on_server_clock(history, offset), now + offset, policy, rng, None)


class Schedule:
    """One job's schedule: its answers so far, and what was worked out from them.

    ``next_delay`` gives the delay ``next_delay(history, ...)`` gives on the same answers, but
    does not work out again, at each answer, what the earlier answers already showed: the changes
    of progress in view and the fits through them (answers are only ever added, so those stay
    true). Replaying thousands of simulated jobs then takes seconds, not minutes.
    """

    def __init__(self, policy: PollPolicy, rng: random.Random) -> None:
        self.policy = policy
        self.rng = rng
        self._history: list[Observation] = []
        self._bounds = ClockBounds()
        self._offset = 0.0
        self._shifted: list[Observation] = []  # the answers, on the server's clock
        self._memo = _Memo()

    @property
    def history(self) -> Sequence[Observation]:
        """The answers so far, oldest first."""
        return self._history

    @property
    def clock_offset(self) -> float:
        """Seconds the server's clock is taken to be ahead of ours (behind: negative)."""
        return self._offset

    def observe(self, observation: Observation) -> None:
        """Add an answer, the latest so far."""
        before = self._history[-1] if self._history else None
        self._history.append(observation)
        self._bounds = self._bounds.narrowed(answer_bounds(before, observation))
        if self._bounds.offset != self._offset:
            # Every moment moves: what was worked out from the old ones is worked out again.
            self._offset = self._bounds.offset
            self._shifted = list(on_server_clock(self._history, self._offset))
            self._memo = _Memo()
        else:
            self._shifted.append(on_server_clock([observation], self._offset)[0])

    def next_delay(self, now: float) -> float:
        """Seconds to wait before the next status request."""
        return _next_delay(self._shifted, now + self._offset, self.policy, self.rng, self._memo)


def _next_delay(
    history: Sequence[Observation], now: float, policy: PollPolicy, rng: random.Random, memo: _Memo | None
) -> float:
    floor = policy.floor
    if not history:
        return floor
    cadence = _cadence_delay(history, now, policy, rng)
    end = _expected_end(history, now, memo)
    if end is None:
        return cadence
    end = _first_look(history, now, end, memo)
    if end + SETTLE > now:
        # Aimed at an expected end: a few hundredths of a second of jitter, and later rather
        # than earlier, so the poll stays past the second the end is due in.
        dense = max(floor, end + SETTLE * (1.0 + 0.25 * policy.jitter * rng.random()) - now)
    elif now - end <= CHASE and within_budget(history, now + floor, policy, CHASE_REQUESTS):
        # The expected end has just passed: it may have been a little early. Look again soon,
        # once or twice, from a smaller budget than aimed polls get.
        dense = max(floor, BACKOFF_GROWTH * (now - end))
    else:
        return cadence  # it was wrong: the cadence carries on until progress says more
    if dense > policy.poll_interval:
        return cadence
    if dense >= cadence + floor:
        return cadence  # the cadence poll comes first; the end is aimed at after it
    if dense > cadence - floor:
        return dense  # close to the cadence poll: take its place, no request is added
    if not within_budget(history, now + dense, policy, EXTRA_REQUESTS):
        return cadence
    return dense


def _first_look(history: Sequence[Observation], now: float, end: float, memo: _Memo | None) -> float:
    """Where to look first for an end that an ETA seen in the latest answer alone gives.

    One reading cannot tell an exact ETA from one that is a steady share over the time left: the
    poll goes where a modest bias of that kind puts the end (``eta_trend.first_look``), earlier
    than the ETA. The next answer shows the end, or a new ETA (whose trend the schedule follows),
    or the same one (aimed at, as before). Not while progress gives an estimate of its own.
    """
    eta = history[-1].status.eta
    if eta is None or end != eta or (len(history) > 1 and history[-2].status.eta is not None):
        return end
    if _progress_estimate(history, memo) is not None:
        return end
    look = first_look(eta_points(history[-1:], 1)[0][0], end)
    return look if look + SETTLE > now else end


def within_budget(history: Sequence[Observation], at: float, policy: PollPolicy, extra: float) -> bool:
    """Whether one more poll at ``at`` keeps the job within ``extra`` requests of a plain loop.

    A plain loop polling every P since our first poll has made ``1 + ceil(span / P)`` requests by
    the time it notices anything that happened before ``at``.
    """
    span = max(0.0, at - history[0].at)
    loop = 1 + math.ceil(span / policy.poll_interval - 1e-9)
    return len(history) + 1 <= loop + extra


def _cadence_delay(
    history: Sequence[Observation], now: float, policy: PollPolicy, rng: random.Random
) -> float:
    """Delay to the next cadence poll: P, except the second, which sets the run's phase.

    The first delay is P (as a plain loop), the second P shortened by a random share of up to
    ``jitter``; from then on every cadence poll is P after the last poll, so the phase holds.
    """
    return policy.cadence(len(history), rng)


def expected_end(history: Sequence[Observation], now: float) -> float | None:
    """The unix time the job should end at, from whichever signal has kept its word; None if neither.

    The moment may have passed already (the job runs late on it). On our clock.
    """
    offset = clock_bounds(history).offset
    end = _expected_end(on_server_clock(history, offset), now + offset, None)
    return None if end is None else end - offset


def _expected_end(history: Sequence[Observation], now: float, memo: _Memo | None) -> float | None:
    eta = _eta_estimate(history, memo)
    if eta is not None and eta[0] + SETTLE <= now:
        # Half a second past a whole-second ETA covers its rounding: the ETA was wrong. Only
        # progress, which keeps moving, is worth chasing past its expected end.
        eta = None
    progress = _progress_estimate(history, memo)
    if progress is None:
        return None if eta is None else eta[0]
    if eta is None:
        return progress[0]
    (eta_end, eta_record, held), (end, record) = eta, progress
    if end + SETTLE <= now:
        return eta_end  # progress has been proved early already
    if abs(eta_end - end) <= AGREEMENT + record * max(0.0, end - now):
        # They agree. An ETA that has held still is the finer of the two; one that is being
        # revised may still be converging: aim at the earlier.
        return eta_end if held else min(eta_end, end)
    # They disagree: the one with the better record wins. An ETA that holds still proves nothing
    # (a first guess never revised holds still too): against it, progress needs a record within
    # PROGRESS_TRUST.
    if held:
        eta_record = PROGRESS_TRUST  # never revised in view: no record either way
    return end if record <= eta_record else eta_end


def _record(estimates: Sequence[tuple[float, float]], end: float) -> float:
    """How far earlier estimates (moment made, end) were from ``end``, as a share of the time then left."""
    worst = 0.0
    for at, estimate in estimates:
        worst = max(worst, abs(estimate - end) / max(RECORD_HORIZON, end - at))
    return worst


def _eta_estimate(history: Sequence[Observation], memo: _Memo | None) -> tuple[float, float, bool] | None:
    """The end the ETA points at, its record, and whether it held still in view; None if unusable.

    The latest ETA itself, when its recent values stayed close to it; or, when it is being
    re-estimated with a steady bias, the end its trend points at, whichever has the better record.
    """
    raw = _raw_eta(history)
    if raw is None:
        return None
    eta, record, passed = raw
    trend = _eta_trend(history, record, memo)
    # A trend is believed over the ETA when its record is no worse; over an ETA that had passed
    # (it may have been pushed on, not re-estimated), only with a record of its own.
    if trend is not None and trend[1] <= MAX_RECORD and (trend[2] if passed else trend[1] <= record):
        return trend[0], trend[1], False
    if passed or record > MAX_RECORD:
        return None
    return eta, record, record == 0.0


def _raw_eta(history: Sequence[Observation]) -> tuple[float, float, bool] | None:
    """The latest ETA, its record, and whether an answer in view gave one that had already passed."""
    eta = history[-1].status.eta
    if eta is None:
        return None
    earlier = []
    passed = False
    for index in range(len(history) - 2, max(-1, len(history) - 1 - ETA_WINDOW), -1):
        observation = history[index]
        previous = observation.status.eta
        if previous is None:
            break
        # It replaced an ETA that had already passed: the server does not know.
        passed = passed or previous + SETTLE <= observation.at
        earlier.append((observation.at, float(previous)))
    return float(eta), _record(earlier, eta), passed


def _eta_trend(
    history: Sequence[Observation], raw_record: float, memo: _Memo | None
) -> tuple[float, float, bool] | None:
    """The end a steadily biased ETA points at (``gate.eta_trend``), its record (how far the trend's
    recent estimates were from it; with no earlier estimate, the ETA's own) and whether it has one."""
    if memo is not None and not memo.eta_revised(history, TREND_WINDOW):
        return None  # one value in view: nothing to draw a trend through
    points = eta_points(history, TREND_WINDOW)
    if len(points) < 2:
        return None
    return _trend_of(points, raw_record, memo)


def _trend_of(
    points: Sequence[EtaPoint], raw_record: float, memo: _Memo | None
) -> tuple[float, float, bool] | None:
    def end_of(upto: Sequence[EtaPoint]) -> float | None:
        if memo is None:
            return trend_end(upto)
        key = tuple(upto[-TREND_POINTS:])
        if key not in memo.ends:
            memo.ends[key] = trend_end(key)
        return memo.ends[key]

    end = end_of(points)
    if end is None:
        return None
    earlier = []
    for j in range(len(points) - 2, max(0, len(points) - 1 - PROGRESS_RECORD), -1):
        estimate = end_of(points[: j + 1])
        if estimate is None:
            return None
        earlier.append((points[j][0], estimate))
    return end, _record(earlier, end) if earlier else raw_record, bool(earlier)


def _progress_estimate(history: Sequence[Observation], memo: _Memo | None) -> tuple[float, float] | None:
    """The end extrapolated from progress's recent pace, and the record of its recent estimates.

    None when progress has not moved, or when its recent estimates were too far from it to aim at.
    """
    count = len(history)
    latest = history[-1].status.progress
    if latest <= 0 or latest >= 100 or (latest == history[0].status.progress and count > 1):
        return None
    crossings = progress_fit.crossings(history, PROGRESS_WINDOW) if memo is None else memo.crossings(history)
    if not crossings:
        begun = _job_begin(history)
        if begun >= history[0].at:
            return None
        # Moved since the job began, but we never saw it move: assume it started at 0 then. One
        # reading tells little (the start is known to the second only): look again halfway there.
        guess = begun + (history[0].at - begun) * 100 / latest
        return (history[-1].at + guess) / 2.0, 0.0
    # From the job's beginning (at 0 %) while the whole history is in view, else from the oldest
    # change in view.
    origin = (_job_begin(history), 0, 0.5) if count <= PROGRESS_WINDOW else crossings[0]
    first = max(0, len(crossings) - PROGRESS_RECORD)
    estimates = [
        (crossings[j][0], _extrapolate(crossings, j, origin, memo)) for j in range(first, len(crossings))
    ]
    end = estimates[-1][1]
    if end is None:
        return None
    record = _record([(at, e) for at, e in estimates[:-1] if e is not None], end)
    return (end, record) if record <= MAX_RECORD else None


class _Memo:
    """What was worked out from one job's answers, for the next answer (``Schedule``)."""

    def __init__(self) -> None:
        self.read = 0  # answers read so far
        self.changes: list[Crossing] = []  # the changes of progress in view, oldest first
        self.seen_at: list[int] = []  # ... each the index of the answer it was seen in
        self.fits: dict[tuple[Crossing | None, int, int, int], float | None] = {}
        self.eta_read = 0  # answers read for their ETA
        self.eta_changed = -1  # the latest answer whose ETA differs from the one before
        self.ends: dict[tuple[EtaPoint, ...], float | None] = {}  # trend_end of the latest points

    def eta_revised(self, history: Sequence[Observation], window: int) -> bool:
        """Whether the ETA took another value within the latest ``window`` answers."""
        for index in range(max(1, self.eta_read), len(history)):
            if history[index].status.eta != history[index - 1].status.eta:
                self.eta_changed = index
        self.eta_read = len(history)
        if len(self.ends) > 64:
            self.ends.clear()
        return self.eta_changed > len(history) - window

    def crossings(self, history: Sequence[Observation]) -> list[Crossing]:
        """``progress_fit.crossings(history, PROGRESS_WINDOW)``, from the changes already found and
        the answers added since."""
        count = len(history)
        for index in range(max(1, self.read), count):
            before, after = history[index - 1], history[index]
            if after.status.progress > before.status.progress:
                moment, spread = progress_fit.crossing(before, after)
                self.changes.append((moment, after.status.progress, spread))
                self.seen_at.append(index)
        self.read = count
        low = max(0, count - PROGRESS_WINDOW)
        gone = 0
        while gone < len(self.seen_at) and self.seen_at[gone] <= low:
            gone += 1
        if gone:
            del self.changes[:gone], self.seen_at[:gone]
            if len(self.fits) > 256:
                self.fits.clear()
        return self.changes


def _extrapolate(crossings: Sequence[Crossing], j: int, origin: Crossing, memo: _Memo | None) -> float | None:
    """The end as estimated at crossing ``j``: its pace over about as much progress as is left.

    Measuring the pace over a span as long as what remains keeps a curve that speeds up or slows
    down from misleading the estimate by more than its own curvature over that span. The pace is
    a line fitted through every change in that span, each weighted by how exactly its moment is
    known, so one change timed only to the midpoint of two answers does not swing it.
    """
    value = crossings[j][1]
    left = 100 - value
    k = j - MIN_CHANGES
    while k >= 0 and value - crossings[k][1] < left:
        k -= 1
    line = j - k + 1
    if k < 0:
        start, line = -1, j + 2  # from the origin, through every change up to j
    elif line < CURVE_SPAN:
        # Too few changes in that span to see the pace bend (near the end, when little is left):
        # the curve is fitted through the last CURVE_SPAN changes, or from the origin when fewer.
        start = j + 1 - CURVE_SPAN
    else:
        start = k
    if memo is None:
        return fit_end(_points(crossings, start, j, origin), line)
    # The same changes give the same fit: only a new change, or one leaving the view while the
    # origin is in the fit, calls for another.
    first = memo.seen_at[max(0, start)]
    key = (None if start >= 0 else origin, first, memo.seen_at[j], line)
    if key not in memo.fits:
        memo.fits[key] = fit_end(_points(crossings, start, j, origin), line)
    return memo.fits[key]


def _points(crossings: Sequence[Crossing], start: int, j: int, origin: Crossing) -> tuple[Crossing, ...]:
    """The changes ``start`` to ``j``; from a negative ``start``, the origin and the changes up to ``j``."""
    return tuple(crossings[start : j + 1]) if start >= 0 else (origin, *crossings[: j + 1])


def _job_begin(history: Sequence[Observation]) -> float:
    """When the job began, as far as we know: its start (in the latest answer that has one) or
    creation, else our first answer."""
    latest = history[-1]
    if latest.status.start and latest.status.start <= latest.at:
        return float(latest.status.start)
    first = history[0]
    begun = first.status.start or first.status.created
    if begun and begun <= first.at:
        return float(begun)
    return first.at
