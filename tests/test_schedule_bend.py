"""Progress whose pace bends (slows down or speeds up) near the end: pure, on simulated time."""

from __future__ import annotations

import math
import statistics

import pytest

from gate.job import JobStatus
from gate.schedule import Observation, PollPolicy, expected_end
from tests.fakes import load_benchmark

T0 = 1_760_000_000.0
bench = load_benchmark("polling.py")


def bent_job(duration: float, power: float) -> tuple[list[Observation], float]:
    """Answers every 30 s of a job whose progress is 100 * x ** power of its elapsed share x,
    up to the first that shows 99 % (or the last before the end), and the moment the job ends."""

    def answer(t: float) -> JobStatus:
        progress = min(99, math.floor(100 * ((t - T0) / duration) ** power))
        changed = T0 + duration * (progress / 100) ** (1 / power) if progress else T0
        return bench.running(progress, None, int(T0), math.floor(changed))

    history: list[Observation] = []
    t = T0 + 1.3
    while True:
        history.append(Observation(t, answer(t)))
        if history[-1].status.progress >= 99 or t + 30.0 > T0 + duration:
            return history, T0 + duration
        t += 30.0


@pytest.mark.parametrize(("duration", "power"), [(900.0, 0.35), (3600.0, 0.5), (7200.0, 0.5), (7200.0, 0.35)])
def test_progress_that_slows_down_is_not_aimed_early(duration: float, power: float) -> None:
    # A line through the last few changes runs ahead of a pace that keeps slowing: its end came
    # 1-5 s early, and each aimed poll before the end is a request spent for nothing.
    history, end = bent_job(duration, power)
    estimate = expected_end(history, history[-1].at)
    assert estimate is not None
    assert -1.0 <= estimate - end <= 2.0


@pytest.mark.parametrize(("duration", "power"), [(900.0, 2.0), (900.0, 2.5), (3600.0, 2.5), (7200.0, 2.0)])
def test_progress_that_speeds_up_is_not_aimed_late(duration: float, power: float) -> None:
    # A line lags behind a pace that keeps rising: its end came up to 3 s late, and the job was
    # seen that late.
    history, end = bent_job(duration, power)
    estimate = expected_end(history, history[-1].at)
    assert estimate is not None
    assert abs(estimate - end) <= 1.0


@pytest.mark.parametrize("shape", ["slowing", "speeding"])
def test_bending_progress_at_a_long_interval_is_seen_soon_for_at_most_one_request(shape: str) -> None:
    # At P = 30 s there are few changes to fit near the end: the curve still has to be right.
    jobs = bench.make_jobs(120, 21, shapes=(shape,))
    ours = bench.adaptive(PollPolicy(poll_interval=30.0, min_poll_interval=1.0), 5)
    loop = bench.fixed(30.0)
    runs = [(job, ours(job, False)) for job in jobs]
    extra = [run.requests - loop(job, False).requests for job, run in runs]
    delays = [run.delay for job, run in runs if not job.fails]
    assert statistics.mean(extra) <= 1.0
    assert statistics.median(delays) <= 1.5
