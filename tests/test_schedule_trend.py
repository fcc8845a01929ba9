"""An ETA re-estimated every few seconds with a steady bias: pure, on simulated time (nothing sleeps).

The server says the same share short of (optimistic) or over (pessimistic) the time left each time
it re-estimates; the schedule follows the trend of its ETAs to the end they point at.
"""

from __future__ import annotations

import math
import random
import statistics

import pytest

from gate.eta_trend import FIRST_LOOK_BIAS, MAX_SLOPE, eta_points, first_look, trend_end
from gate.job import JobStatus
from gate.schedule import Observation, PollPolicy, Schedule, expected_end
from tests.fakes import load_benchmark

T0 = 1_760_000_000.0
bench = load_benchmark("polling.py")
P10 = PollPolicy(poll_interval=10.0, min_poll_interval=1.0)
P30 = PollPolicy(poll_interval=30.0, min_poll_interval=1.0)


def biased(duration: float, share: float, period: float = 4.0, moves: bool = False) -> object:
    """A job of ``duration`` s whose every new ETA claims ``share`` of the time really left."""
    return bench.SimJob(
        created=T0,
        duration=duration,
        ends_at=T0 + duration,
        fails=False,
        eta_class="biased",
        eta_moves=False,
        progress_moves=moves,
        shape=1.0,
        first_eta=None,
        first_poll=T0 + 1.3,
        eta_period=period,
        eta_noise=(share,) * (math.ceil(duration / period) + 1),
    )


def test_points_on_a_steady_bias_meet_the_diagonal_at_the_end() -> None:
    end = T0 + 1000
    for share in (0.7, 0.8, 1.2, 1.3):
        points = [(T0 + k, T0 + k + share * (end - T0 - k)) for k in (0.0, 100.0, 200.0, 300.0)]
        assert trend_end(points) == pytest.approx(end)
    # An ETA that holds still is its own end; one pushed on as fast as time passes has none.
    assert trend_end([(T0, end), (T0 + 50, end)]) == pytest.approx(end)
    assert trend_end([(T0, T0 + 60), (T0 + 60, T0 + 120), (T0 + 120, T0 + 180)]) is None
    assert trend_end([(T0, T0 + 60)]) is None
    assert MAX_SLOPE < 1.0


def test_each_new_eta_is_dated_by_jobupdated_when_that_pins_it() -> None:
    def answer(at: float, eta: int, updated: float) -> Observation:
        return Observation(at, bench.running(0, eta, int(T0), int(updated)))

    history = [answer(T0 + 2, int(T0 + 80), T0), answer(T0 + 12, int(T0 + 84), T0 + 9)]
    history.append(answer(T0 + 22, int(T0 + 84), T0 + 9))  # unchanged: no new point
    history.append(answer(T0 + 32, int(T0 + 87), 0))  # jobupdated says nothing: the midpoint
    assert eta_points(history, 24) == [(T0 + 0.5, T0 + 80), (T0 + 9.5, T0 + 84), (T0 + 27, T0 + 87)]
    # The window ends at an answer without an ETA.
    gap = [*history[:2], Observation(T0 + 22, bench.running(0, None, int(T0), int(T0 + 9))), history[3]]
    assert eta_points(gap, 24) == [(T0 + 32, T0 + 87)]


@pytest.mark.parametrize("policy", [P10, P30], ids=["P=10s", "P=30s"])
def test_a_long_job_with_a_steady_bias_is_seen_within_a_second_and_a_half(policy: PollPolicy) -> None:
    extra = []
    for share in (0.7, 0.8, 1.2, 1.3):
        for duration in (600.0, 1200.0, 2400.0, 4800.0, 7000.0):
            job = biased(duration, share)
            run = bench.adaptive(policy, 3)(job, True)
            assert run.delay <= 1.5, (duration, share, run.polls[-4:])
            extra.append(run.requests - bench.fixed(policy.poll_interval)(job, False).requests)
    # Within the budget of a job (two more than the loop), and one on average.
    assert max(extra) <= 2 and sum(extra) / len(extra) <= 1.0


def test_the_optimistic_eta_alone_would_be_chased_the_trend_is_not() -> None:
    # 25 % short of the time left, re-estimated every 4 s: 30 s before the end the ETA says 22 s.
    job = biased(1800.0, 0.75)
    history = [bench.observation(job, T0 + 1.3 + 10 * k) for k in range(177)]
    now = history[-1].at  # 1761.3 s in, 38.7 s before the end
    eta = history[-1].status.eta
    assert eta is not None and eta < job.ends_at - 5
    end = expected_end(history, now)
    assert end is not None and abs(end - job.ends_at) <= 1.0


def test_a_pessimistic_eta_is_not_waited_for() -> None:
    job = biased(900.0, 1.25)
    history = [bench.observation(job, T0 + 1.3 + 10 * k) for k in range(88)]
    eta = history[-1].status.eta
    assert eta is not None and eta > job.ends_at + 2
    end = expected_end(history, history[-1].at)
    assert end is not None and abs(end - job.ends_at) <= 1.0


def test_ten_second_jobs_with_a_biased_eta_are_seen_within_a_second_and_a_half() -> None:
    # An optimistic first ETA is short: the poll at it sees the second, and the two give the
    # trend. A pessimistic one is looked at first where a modest bias would put the end (one
    # reading cannot tell a bias), or the loop's poll comes first. Either way at most the budget
    # of a job, one request on average.
    extra = []
    for share in (0.7, 0.8, 1.2, 1.3):
        delays = []
        for k in range(12):
            job = biased(9.0 + k / 6, share, period=2.0 + k / 3)
            run = bench.adaptive(P10, k)(job, True)
            extra.append(run.requests - bench.fixed(10.0)(job, False).requests)
            delays.append(run.delay)
        assert sorted(delays)[len(delays) // 2] <= 1.5, share
    assert max(extra) <= 2 and sum(extra) / len(extra) <= 1.0


def test_a_trend_that_leads_nowhere_is_not_followed() -> None:
    # An ETA that jumps about: no steady bias, no aimed poll on it; the cadence carries on.
    rng = random.Random(4)
    schedule = Schedule(P10, random.Random(0))
    t = T0 + 1.0
    for _ in range(40):
        eta = int(t + rng.uniform(5, 200))
        schedule.observe(Observation(t, JobStatus(4, "Running", 0, eta, 0, None, int(T0), int(t))))
        t += schedule.next_delay(t)
    assert t - schedule.history[-1].at == pytest.approx(10.0)


@pytest.mark.parametrize("policy", [P10, P30], ids=["P=10s", "P=30s"])
def test_a_ten_second_job_with_a_pessimistic_eta_is_not_seen_its_bias_late(policy: PollPolicy) -> None:
    # Flat progress, an ETA 10-30 % short of or over the time left. The first ETA alone says
    # nothing of the bias: aimed at, a pessimistic one was seen 1.5-4 s late (median 2.5 s at
    # P = 30 s, where no cadence poll comes in between). The first look goes earlier.
    delays, late, extra = [], [], []
    for share in (0.7, 0.8, 0.9, 1.1, 1.2, 1.3):
        for k in range(12):
            job = biased(9.0 + k / 6, share, period=2.0 + k / 3)
            run = bench.adaptive(policy, k)(job, True)
            (late if share > 1 else delays).append(run.delay)
            extra.append(run.requests - bench.fixed(policy.poll_interval)(job, False).requests)
    assert statistics.median(delays + late) <= 1.5
    assert statistics.median(late) <= 1.75 and max(late) <= 3.0
    assert max(extra) <= 2 and sum(extra) / len(extra) <= 1.0


def test_an_eta_seen_once_is_looked_at_where_a_modest_bias_puts_the_end() -> None:
    # One answer at T0 + 2: the ETA, made at T0 (jobupdated), says 12 s. Exact or 10 % over,
    # one reading cannot tell: the first look goes at T0 + 12 / 1.1, half a second past it.
    def answer(at: float, eta: int) -> Observation:
        return Observation(at, JobStatus(4, "Running", 0, eta, 0, None, int(T0), int(T0)))

    assert first_look(T0, T0 + 12) == pytest.approx(T0 + 12 / (1 + FIRST_LOOK_BIAS), abs=1e-6)
    schedule = Schedule(PollPolicy(poll_interval=30.0, min_poll_interval=1.0, jitter=0.0), random.Random(0))
    schedule.observe(answer(T0 + 2, int(T0 + 12)))
    look = T0 + 2 + schedule.next_delay(T0 + 2)
    assert look == pytest.approx(T0 + 0.5 + 11.5 / (1 + FIRST_LOOK_BIAS) + 0.5, abs=1e-6)
    assert look < T0 + 12
    # Still running, the same ETA: it was exact after all, and is aimed at.
    schedule.observe(answer(look, int(T0 + 12)))
    assert look + schedule.next_delay(look) == pytest.approx(T0 + 12.5, abs=1e-6)


def test_the_first_look_is_not_taken_when_progress_or_an_earlier_answer_says_more() -> None:
    policy = PollPolicy(poll_interval=30.0, min_poll_interval=1.0, jitter=0.0)

    def delay(*answers: tuple[float, int, int]) -> float:
        schedule = Schedule(policy, random.Random(0))
        for at, progress, eta in answers:
            status = JobStatus(4, "Running", progress, eta, 0, None, int(T0), int(T0))
            schedule.observe(Observation(at, status))
        return answers[-1][0] + schedule.next_delay(answers[-1][0])

    # The same ETA in two answers has held still: aimed at directly.
    assert delay((T0 + 2, 0, int(T0 + 40)), (T0 + 32, 0, int(T0 + 40))) == pytest.approx(T0 + 40.5, abs=1e-6)
    # An ETA whose look would already have passed is aimed at itself.
    assert delay((T0 + 11.5, 0, int(T0 + 12))) == pytest.approx(T0 + 12.5, abs=1e-6)
    # Progress has an estimate of its own (10 % in 2 s: about T0 + 11, which agrees): no look,
    # the ETA that has held still is aimed at.
    assert delay((T0 + 2, 10, int(T0 + 12))) == pytest.approx(T0 + 12.5, abs=1e-6)
