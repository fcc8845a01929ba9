"""The schedule on every job shape of the benchmark: pure replays on simulated time (nothing sleeps).

Each shape gets a small sample of jobs; the numbers asserted are the goals, against a plain loop
at the same interval on the same jobs. The benchmark checks the same goals on thousands of jobs.
"""

from __future__ import annotations

import itertools
import math
import random
import statistics

import pytest

from gate.schedule import PROGRESS_WINDOW, Observation, PollPolicy, Schedule, next_delay
from tests.fakes import load_benchmark

bench = load_benchmark("polling.py")
SAMPLE = 40
# Shapes where the job says something usable whatever progress does: an ETA that holds, or one
# with a steady bias, on any clock.
SIGNAL = set(bench.ETA_HOLDS)


def sample(shape: str, seed: int = 11) -> list[object]:
    return bench.make_jobs(SAMPLE, seed, shapes=(shape,))


@pytest.mark.parametrize("shape", bench.ETA_CLASSES)
def test_every_shape_stays_within_the_interval_and_the_request_budget(shape: str) -> None:
    jobs = sample(shape)
    ours = bench.adaptive(PollPolicy(poll_interval=10.0, min_poll_interval=1.0), 5)
    loop = bench.fixed(10.0)
    extra = []
    for job in jobs:
        run = ours(job, True)
        gaps = [b - a for a, b in itertools.pairwise(run.polls)]
        assert max(gaps, default=0.0) <= 10.0 + 1e-9
        assert min(gaps, default=1.0) >= 1.0 - 1e-9
        assert run.polls[-1] >= job.ends_at and all(p < job.ends_at for p in run.polls[:-1])
        extra.append(run.requests - loop(job, False).requests)
    # A few jobs may spend a little more; the shape as a whole at most one request a job.
    assert statistics.mean(extra) <= 1.0
    assert max(extra) <= 3


@pytest.mark.parametrize("shape", bench.ETA_CLASSES)
def test_every_shape_succeeds_no_later_than_a_plain_loop(shape: str) -> None:
    # Over the same jobs, several phases each: the mean success delay is not above the loop's
    # beyond the noise of a small sample.
    jobs = [job for job in sample(shape, seed=12) if not job.fails]
    ours = [bench.adaptive(PollPolicy(poll_interval=10.0, min_poll_interval=1.0), s) for s in range(2)]
    mine = [strategy(job, False).delay for strategy in ours for job in jobs]
    theirs = [bench.fixed(10.0)(job, False).delay for job in jobs]
    assert statistics.mean(mine) <= 1.25 * statistics.mean(theirs)


@pytest.mark.parametrize(
    "shape",
    sorted(
        {"accurate", "absent", "noisy", "re-estimated", "jumping", "eta-vs-slowing", "short"}
        | {"biased", "biased-short", "skewed", "skewed-biased"}
    ),
)
def test_a_usable_signal_is_seen_within_a_second_and_a_half(shape: str) -> None:
    jobs = [
        job
        for job in bench.make_jobs(3 * SAMPLE, 13, shapes=(shape,))
        if not job.fails and (job.progress_moves or shape in SIGNAL)
    ]
    ours = bench.adaptive(PollPolicy(poll_interval=10.0, min_poll_interval=1.0), 7)
    delays = [ours(job, False).delay for job in jobs]
    assert statistics.median(delays) <= 1.5


def test_optimistic_eta_with_flat_progress_costs_one_poll_then_the_cadence() -> None:
    for job in sample("optimistic")[:20]:
        polls = bench.adaptive(PollPolicy(poll_interval=10.0, min_poll_interval=1.0), 3)(job, True).polls
        assert job.first_eta is not None
        late = [p for p in polls if job.first_eta < p < job.ends_at]
        # One poll just past the ETA, then nothing closer together than the cadence allows.
        close = [b - a for a, b in itertools.pairwise(late) if b - a < 5.0]
        assert len(close) <= 1


def test_short_jobs_without_signal_are_seen_when_the_loop_sees_them() -> None:
    # A 10 s job, nothing said: the second poll comes P after the first, as in the loop.
    for job in sample("short"):
        if job.progress_moves or job.fails:
            continue
        ours = bench.adaptive(PollPolicy(poll_interval=10.0, min_poll_interval=1.0), 1)(job, True)
        theirs = bench.fixed(10.0)(job, True)
        assert ours.polls[:2] == theirs.polls[:2]


@pytest.mark.parametrize("interval", [10.0, 30.0])
def test_a_kept_schedule_decides_every_delay_as_next_delay_does(interval: float) -> None:
    # The replays use Schedule, which keeps the changes of progress and the fits through them
    # between answers; the waiter asks next_delay, which works everything out each time. Not one
    # delay may differ, on every shape, over long jobs whose oldest answers leave the view.
    policy = PollPolicy(poll_interval=interval, min_poll_interval=1.0)
    long_and_moving = skewed = 0
    for index, job in enumerate(bench.make_jobs(48, 17)):
        kept, fresh = Schedule(policy, random.Random(index)), random.Random(index)
        history: list[Observation] = []
        t, kept_delays, fresh_delays = job.first_poll, [], []
        while t < job.ends_at:
            observation = bench.observation(job, t)
            kept.observe(observation)
            history.append(observation)
            kept_delays.append(kept.next_delay(observation.at))
            fresh_delays.append(next_delay(history, observation.at, policy, fresh))
            t += fresh_delays[-1]
        assert kept_delays == fresh_delays
        assert list(kept.history) == history
        long_and_moving += job.progress_moves and len(history) > 2 * PROGRESS_WINDOW
        skewed += abs(job.clock_offset) > 60
    assert long_and_moving >= 5 and skewed >= 3


@pytest.mark.parametrize("with_eta", [True, False])
def test_gates_started_together_spread_over_the_interval(with_eta: bool) -> None:
    spread = bench.herd_spread(60, 10.0, seed=3, with_eta=with_eta)
    assert spread >= 1.0  # 10 % of P


@pytest.mark.parametrize("interval", [10.0, 30.0])
def test_fifty_ids_ending_together_are_seen_as_soon_as_one(interval: float) -> None:
    run = bench.many_ids(50, interval, seed=4)
    assert run.median_delay <= 1.5
    assert run.max_gap <= interval + 1e-9
    assert run.extra_requests <= 1.0


def test_herd_spread_measures_lockstep_as_zero() -> None:
    # The measure itself: phases all equal give no spread; phases all over give a lot.
    assert bench.circular_spread([2.0] * 10, 10.0) == pytest.approx(0.0, abs=1e-6)
    assert bench.circular_spread([k * 0.5 for k in range(20)], 10.0) > 3.0
    assert math.isfinite(bench.circular_spread([0.0, 5.0], 10.0))
