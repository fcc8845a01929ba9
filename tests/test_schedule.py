"""The polling schedule, branch by branch, on simulated time (nothing sleeps)."""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
from collections.abc import Callable

import pytest

from gate.job import JobStatus
from gate.schedule import Observation, PollPolicy, Schedule, next_delay
from tests.fakes import load_benchmark

T0 = 1_760_000_000.0
EXACT = PollPolicy(poll_interval=10.0, min_poll_interval=1.0, jitter=0.0)
JITTERED = PollPolicy(poll_interval=10.0, min_poll_interval=1.0, jitter=0.1)
bench = load_benchmark("polling.py")  # its status answers of a running job


def status(progress: int = 0, eta: int | None = None, updated: float = T0) -> JobStatus:
    return bench.running(progress, eta, int(T0), int(updated))


def obs(at: float, progress: int = 0, eta: int | None = None, updated: float = T0) -> Observation:
    return Observation(at, status(progress, eta, updated))


def replay(
    policy: PollPolicy,
    first: float,
    ends_at: float,
    answer: Callable[[float], JobStatus],
    seed: int = 0,
) -> list[float]:
    """Poll times of the schedule until the first poll at or after ``ends_at`` (included)."""
    rng = random.Random(seed)
    history: list[Observation] = []
    t = first
    while t < ends_at:
        history.append(Observation(t, answer(t)))
        t += next_delay(history, t, policy, rng)
        assert len(history) < 100_000
    return [o.at for o in history] + [t]


# --- policy ------------------------------------------------------------------------------------


def test_policy_is_frozen_and_validated() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        EXACT.poll_interval = 5.0  # type: ignore[misc]
    for bad in (
        {"poll_interval": 0.0, "min_poll_interval": 1.0},
        {"poll_interval": 10.0, "min_poll_interval": 0.0},
        {"poll_interval": 10.0, "min_poll_interval": 1.0, "jitter": 0.5},
        {"poll_interval": 10.0, "min_poll_interval": 1.0, "jitter": -0.1},
    ):
        with pytest.raises(ValueError):
            PollPolicy(**bad)


def test_empty_history_asks_for_the_shortest_delay() -> None:
    assert next_delay([], T0, EXACT, random.Random(0)) == 1.0


def test_min_interval_above_poll_interval_never_stretches_the_cadence() -> None:
    policy = PollPolicy(poll_interval=5.0, min_poll_interval=20.0, jitter=0.0)
    history = [obs(T0 + 2, eta=int(T0 + 3))]
    assert next_delay(history, T0 + 2, policy, random.Random(0)) == 5.0


# --- sparse cadence ----------------------------------------------------------------------------


def test_far_eta_follows_the_cadence_and_the_third_poll_sets_the_phase() -> None:
    history = [obs(T0 + 2, eta=int(T0 + 3600))]
    # The second poll comes P after the first, as in a plain loop.
    assert next_delay(history, T0 + 2, JITTERED, random.Random(0)) == 10.0
    history.append(obs(T0 + 12, eta=int(T0 + 3600)))
    assert next_delay(history, T0 + 12, EXACT, random.Random(0)) == 10.0
    # The third is up to jitter x P early: that is the run's phase.
    policy = PollPolicy(poll_interval=10.0, min_poll_interval=1.0, jitter=0.4)
    delays = {next_delay(history, T0 + 12, policy, random.Random(seed)) for seed in range(50)}
    assert all(6.0 <= d <= 10.0 for d in delays)
    assert len(delays) > 40  # jittered, not one fixed value


def test_cadence_never_exceeds_the_interval_and_does_not_drift() -> None:
    eta = int(T0 + 100_000)
    polls = replay(JITTERED, T0 + 1.5, T0 + 5001.5, lambda t: status(eta=eta))
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert max(gaps) <= 10.0
    assert min(gaps) >= 8.0
    # One poll per 10 s cell, as many as a plain loop at 10 s makes over the same span.
    assert abs(len(polls) - (5000 / 10 + 1)) <= 1


def test_fleet_started_together_does_not_poll_in_lockstep() -> None:
    eta = int(T0 + 100_000)
    a = replay(JITTERED, T0 + 1.0, T0 + 600, lambda t: status(eta=eta), seed=1)
    b = replay(JITTERED, T0 + 1.0, T0 + 600, lambda t: status(eta=eta), seed=2)
    same = sum(1 for x, y in zip(a[1:], b[1:], strict=False) if abs(x - y) < 0.05)
    assert same < len(a) // 4
    assert a == replay(JITTERED, T0 + 1.0, T0 + 600, lambda t: status(eta=eta), seed=1)


# --- a future ETA ------------------------------------------------------------------------------


def test_near_eta_polls_half_a_second_after_it() -> None:
    history = [obs(T0 + 2, eta=int(T0 + 104)), obs(T0 + 100, eta=int(T0 + 104))]
    assert next_delay(history, T0 + 100, EXACT, random.Random(0)) == pytest.approx(4.5)
    jittered = {next_delay(history, T0 + 100, JITTERED, random.Random(seed)) for seed in range(20)}
    # Later rather than earlier: the end lies within half a second of the whole-second ETA.
    assert all(4.5 <= d <= 4.5 + 0.25 * 0.5 * JITTERED.jitter for d in jittered)
    assert len(jittered) > 1


def test_eta_closer_than_the_floor_waits_the_floor() -> None:
    history = [obs(T0 + 99.9, eta=int(T0 + 100))]
    assert next_delay(history, T0 + 99.9, EXACT, random.Random(0)) == 1.0


@pytest.mark.parametrize("interval", [10.0, 30.0])
@pytest.mark.parametrize("offset", [-0.49, -0.2, 0.0, 0.3, 0.49])
def test_accurate_eta_is_detected_within_a_second_without_extra_requests(
    interval: float, offset: float
) -> None:
    policy = PollPolicy(poll_interval=interval, min_poll_interval=1.0)
    eta = int(T0 + 1234)
    ends_at = eta + offset  # the ETA is the end rounded to whole seconds
    polls = replay(policy, T0 + 1.7, ends_at, lambda t: status(eta=eta))
    assert 0 <= polls[-1] - ends_at <= 1.1  # the floor, jittered by up to 5 %
    fixed_loop_requests = math.ceil((ends_at - (T0 + 1.7)) / interval) + 1
    assert len(polls) <= fixed_loop_requests + 1


# --- a passed or moving ETA --------------------------------------------------------------------


def test_passed_eta_is_not_chased_the_cadence_carries_on() -> None:
    eta = int(T0 + 100)
    history = [obs(T0 + 2, eta=eta), obs(T0 + 12, eta=eta), obs(T0 + 22, eta=eta), obs(eta + 0.5, eta=eta)]
    # Half a second past a whole-second ETA covers its rounding: the ETA was wrong, no burst.
    # The cadence carries on from that poll: P later.
    assert next_delay(history, eta + 0.5, EXACT, random.Random(0)) == pytest.approx(10.0)
    history.append(obs(eta + 10.5, eta=eta))
    assert next_delay(history, eta + 10.5, EXACT, random.Random(0)) == pytest.approx(10.0)


def test_passed_eta_replay_costs_at_most_one_request() -> None:
    eta = int(T0 + 300)
    polls = replay(JITTERED, T0 + 1.0, T0 + 900, lambda t: status(eta=eta))
    after = [p for p in polls if p > eta]
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert after[0] - eta <= 0.55
    assert max(gaps) <= 10.0
    assert len(polls) <= math.ceil(899 / 10) + 1 + 1


def test_eta_moved_after_it_passed_is_not_trusted() -> None:
    history = [
        obs(T0 + 10, eta=int(T0 + 60)),
        obs(T0 + 20, eta=int(T0 + 60)),
        obs(T0 + 30, eta=int(T0 + 60)),
        obs(T0 + 60.5, eta=int(T0 + 60)),
        obs(T0 + 62, eta=int(T0 + 65), updated=T0 + 61),
    ]
    # Trusted, it would mean a poll at T0 + 65.5; instead: the cadence.
    assert next_delay(history, T0 + 62, EXACT, random.Random(0)) == pytest.approx(10.0)


def test_eta_revised_a_little_is_trusted_revised_a_lot_is_not() -> None:
    # Revised up, then down: noise, no steady bias to follow (see the trend tests).
    a_little = [
        obs(T0 + 10, eta=int(T0 + 88)),
        obs(T0 + 20, eta=int(T0 + 90), updated=T0 + 15),
        obs(T0 + 30, eta=int(T0 + 89), updated=T0 + 25),
    ]
    assert next_delay(a_little, T0 + 85, EXACT, random.Random(0)) == pytest.approx(4.5)
    # 60 s off with 80 s to go: that ETA has not kept its word.
    a_lot = [obs(T0 + 10, eta=int(T0 + 30)), obs(T0 + 20, eta=int(T0 + 90), updated=T0 + 15)]
    assert next_delay(a_lot, T0 + 85, EXACT, random.Random(0)) == pytest.approx(10.0)


def test_eta_pushed_later_again_and_again_is_not_trusted() -> None:
    history = [
        obs(T0 + 10, eta=int(T0 + 60)),
        obs(T0 + 20, eta=int(T0 + 90)),
        obs(T0 + 30, eta=int(T0 + 120)),
        obs(T0 + 110, eta=int(T0 + 120)),
    ]
    # Trusted, it would ask for a poll at T0 + 120.5 (10.5 s); instead: the cadence.
    assert next_delay(history, T0 + 110, EXACT, random.Random(0)) == pytest.approx(10.0)


# --- progress ----------------------------------------------------------------------------------


def linear_progress(t: float) -> JobStatus:
    """1 % every 10 s from T0; jobupdated is the whole second of the last change."""
    progress = min(99, math.floor((t - T0) / 10))
    return status(progress=progress, updated=T0 + 10 * progress)


def test_moving_progress_estimates_the_end() -> None:
    history = [Observation(T0 + 3 + 10 * k, linear_progress(T0 + 3 + 10 * k)) for k in range(100)]
    now = history[-1].at  # T0 + 993, progress 99: the end is due at T0 + 1000
    assert next_delay(history, now, EXACT, random.Random(0)) == pytest.approx(8.0, abs=0.2)


def test_moving_progress_far_from_the_end_follows_the_cadence() -> None:
    history = [Observation(T0 + 3 + 10 * k, linear_progress(T0 + 3 + 10 * k)) for k in range(20)]
    assert next_delay(history, history[-1].at, EXACT, random.Random(0)) == 10.0


def test_moving_progress_replay_detects_the_end_quickly() -> None:
    polls = replay(JITTERED, T0 + 2.0, T0 + 1000.0, linear_progress)
    assert polls[-1] - (T0 + 1000.0) <= 1.5
    assert len(polls) <= 1000 / 10 + 1 + 3


def test_stalled_progress_is_not_extrapolated() -> None:
    history = [Observation(T0 + 3 + 10 * k, linear_progress(T0 + 3 + 10 * k)) for k in range(40)]
    stalled = status(progress=39, updated=T0 + 390)
    history += [Observation(T0 + 403 + 10 * k, stalled) for k in range(100)]
    # A pace-based estimate would be long past; a stalled job just gets the cadence.
    assert next_delay(history, history[-1].at, EXACT, random.Random(0)) == 10.0


# --- nothing known -----------------------------------------------------------------------------


def test_no_eta_and_no_progress_polls_like_a_plain_loop() -> None:
    history = [obs(T0 + 2)]  # the job was created at T0
    assert next_delay(history, T0 + 2, EXACT, random.Random(0)) == 10.0
    history = [obs(T0 + 0.3)]
    assert next_delay(history, T0 + 0.3, JITTERED, random.Random(0)) == 10.0


def test_no_eta_and_no_progress_replay() -> None:
    polls = replay(JITTERED, T0 + 0.5, T0 + 600, lambda t: status())
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert gaps[0] == 10.0
    assert max(gaps) <= 10.0
    assert sum(1 for g in gaps if g < 9.99) <= 1  # the one that sets the phase
    assert len(polls) <= math.ceil(599.5 / 10) + 1 + 1


# --- bounds, whatever the history --------------------------------------------------------------


def test_delay_is_always_between_the_floor_and_the_interval() -> None:
    rng = random.Random(42)
    for _ in range(400):
        policy = PollPolicy(
            poll_interval=rng.choice([2.0, 10.0, 30.0]),
            min_poll_interval=rng.choice([0.5, 1.0, 2.0]),
            jitter=rng.choice([0.0, 0.1, 0.3]),
        )
        t = T0 + rng.uniform(0, 5)
        history = []
        for _ in range(rng.randint(1, 80)):
            eta = rng.choice([None, int(t + rng.uniform(-100, 600))])
            history.append(obs(t, progress=rng.randint(0, 100), eta=eta, updated=t - rng.uniform(0, 20)))
            t += rng.uniform(0.5, 12)
        now = history[-1].at + rng.uniform(0, 0.3)
        delay = next_delay(history, now, policy, rng)
        assert min(policy.min_poll_interval, policy.poll_interval) <= delay <= policy.poll_interval


def test_a_kept_schedule_decides_as_next_delay_on_any_answers() -> None:
    # Schedule keeps the changes of progress and the fits through them from one answer to the
    # next. Answers that no job model gives (progress going back, the job's start appearing late,
    # ETAs coming and going) must not make it decide one delay differently.
    rng = random.Random(7)
    for run in range(40):
        policy = PollPolicy(poll_interval=rng.choice([5.0, 10.0, 30.0]), min_poll_interval=1.0)
        kept, fresh = Schedule(policy, random.Random(run)), random.Random(run)
        history: list[Observation] = []
        t, progress = T0 + rng.uniform(0, 5), 0
        for _ in range(rng.randint(60, 160)):
            progress = max(0, min(99, progress + rng.choice([0, 0, 1, 1, 2, 5, -3])))
            eta = rng.choice([None, int(t + rng.uniform(-50, 900))])
            start = rng.choice([None, int(T0 - rng.uniform(0, 30))]) if len(history) > 50 else None
            answer = dataclasses.replace(status(progress, eta, t - rng.uniform(0, 8)), start=start)
            observation = Observation(t, answer)
            kept.observe(observation)
            history.append(observation)
            delay = next_delay(history, t, policy, fresh)
            assert kept.next_delay(t) == delay
            t += delay
