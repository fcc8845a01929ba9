"""A server clock that is not ours: pure, on simulated time (nothing sleeps), then through the client.

``jobeta`` is a time on the server's clock. The Date header of each answer (and ``jobupdated``)
bounds how far that clock is from ours; the schedule reads the server's times on its clock.
"""

from __future__ import annotations

import email.utils
import math
import random

import pytest
import requests_mock as rm

from gate.client import JobRef, StatusClient, http_date_seconds
from gate.kinds import JobKind
from gate.schedule import Observation, PollPolicy, Schedule, clock_bounds, expected_end
from gate.server_clock import ClockBounds, answer_bounds
from gate.waiter import Waiter
from tests.fakes import FakeClock, Recorder, job_body, load_benchmark, make_settings, status_url

T0 = 1_760_000_000.0
bench = load_benchmark("polling.py")
P10 = PollPolicy(poll_interval=10.0, min_poll_interval=1.0)


def skewed(duration: float, offset: float, moves: bool = False) -> object:
    """A job with an exact ETA, on a server clock ``offset`` s ahead of ours (its times are the server's)."""
    return bench.SimJob(
        created=T0,
        duration=duration,
        ends_at=T0 + duration,
        fails=False,
        eta_class="skewed",
        eta_moves=False,
        progress_moves=moves,
        shape=1.0,
        first_eta=round(T0 + duration),
        first_poll=T0 + 1.3,
        clock_offset=offset,
    )


def test_the_date_header_bounds_the_offset_and_answers_narrow_it() -> None:
    status = bench.running(0, None, int(T0), int(T0))
    # Sent at 100.2, back at 100.4 (our clock); the server wrote "400" (whole seconds): it was
    # 400.0-401.0 there at some moment between, so it is 299.6-300.8 s ahead.
    first = Observation(T0 + 100.4, status, server_date=T0 + 400, sent=T0 + 100.2)
    bounds = answer_bounds(None, first)
    assert (bounds.low, bounds.high) == pytest.approx((299.6, 300.8))
    second = Observation(T0 + 110.9, status, server_date=T0 + 411, sent=T0 + 110.8)
    narrowed = clock_bounds([first, second])
    assert (narrowed.low, narrowed.high) == pytest.approx((300.1, 300.8))
    assert narrowed.offset == pytest.approx(300.1)  # the lowest proved: aimed polls never early


def test_no_offset_is_assumed_until_one_is_proved() -> None:
    assert ClockBounds().offset == 0.0
    assert ClockBounds(-0.7, 0.4).offset == 0.0
    assert ClockBounds(-300.4, -299.5).offset == pytest.approx(-300.4)
    assert ClockBounds(12.0, math.inf).offset == 12.0  # jobupdated ahead of us, no Date header
    # A clock set meanwhile (or a proxy's Date): the newer answer's bounds alone.
    assert ClockBounds(299.0, 301.0).narrowed(ClockBounds(-1.0, 0.5)) == ClockBounds(-1.0, 0.5)


def test_jobupdated_alone_shows_a_server_ahead_of_us() -> None:
    # No Date header: jobupdated is a moment the server has reached, so it is at least this far ahead.
    ahead = Observation(T0 + 10, bench.running(3, None, int(T0 + 300), int(T0 + 305)))
    assert clock_bounds([ahead]).offset == pytest.approx(295.0)
    # ... and when it changed since the answer before, it changed after that request left.
    before = Observation(T0 + 20, bench.running(3, None, int(T0 + 300), int(T0 + 305)), sent=T0 + 19.9)
    after = Observation(T0 + 30, bench.running(4, None, int(T0 + 300), int(T0 + 318)), sent=T0 + 29.9)
    bounds = clock_bounds([ahead, before, after])
    assert bounds.low == pytest.approx(295.0) and bounds.high == pytest.approx(299.1)


@pytest.mark.parametrize("offset", [-600.0, -300.0, -0.4, 0.0, 0.7, 300.0, 600.0])
@pytest.mark.parametrize("moves", [False, True], ids=["progress flat", "progress moves"])
def test_an_exact_eta_on_a_server_clock_off_by_minutes_is_seen_within_a_second(
    offset: float, moves: bool
) -> None:
    delays = []
    for duration in (25.0, 40.0, 300.0, 3600.0):
        job = skewed(duration, offset, moves)
        run = bench.adaptive(P10, 2)(job, True)
        assert run.requests <= bench.fixed(10.0)(job, False).requests + 2
        delays.append(run.delay)
    assert max(delays) <= 1.6, delays
    assert sorted(delays)[1] <= 1.5


def test_without_the_date_header_a_server_behind_is_the_old_story() -> None:
    # The clock cannot be corrected: the ETA looks long past, and the cadence carries on (the
    # job is seen by the loop's poll, never by a burst of them).
    job = skewed(25.0, -300.0)
    schedule = Schedule(P10, random.Random(1))
    t = job.first_poll
    while t < job.ends_at:
        seen = bench.observation(job, t)
        schedule.observe(Observation(seen.at, seen.status))
        t += schedule.next_delay(seen.at)
    assert t - job.ends_at > 1.6 and len(schedule.history) <= 3
    assert schedule.clock_offset == 0.0


def test_the_expected_end_is_told_on_our_clock() -> None:
    job = skewed(600.0, 300.0)
    history = [bench.observation(job, T0 + 1.3 + 10 * k) for k in range(59)]
    end = expected_end(history, history[-1].at)
    assert end is not None and abs(end - (job.ends_at - 300.0)) <= 1.0


def test_the_client_keeps_each_answers_date_and_when_its_request_left(requests_mock: rm.Mocker) -> None:
    clock = FakeClock(T0)
    settings = make_settings(update_ids=(1,))
    requests_mock.get(
        status_url("imageupdate", 1),
        json=job_body(update_id=1),
        headers={"Date": "Mon, 13 Oct 2025 08:58:20 GMT"},
    )
    client = StatusClient(settings, clock, Recorder())
    client.fetch(JobRef(JobKind.IMAGE_UPDATE, 1), clock.monotonic() + 30)
    assert client.last_date == http_date_seconds("Mon, 13 Oct 2025 08:58:20 GMT") == 1_760_345_900.0
    assert client.last_sent == T0
    assert http_date_seconds("not a date") is None and http_date_seconds(None) is None


@pytest.mark.parametrize("offset", [-300.0, 300.0])
def test_the_wait_loop_sees_an_exact_eta_on_a_skewed_server_within_a_second(
    requests_mock: rm.Mocker, offset: float
) -> None:
    # A 25 s job with an exact ETA and flat progress, on a server 5 minutes behind or ahead; the
    # answers carry its Date header. Before the correction, it was seen 3.4-3.6 s after its end.
    clock = FakeClock(T0)
    there = T0 + offset  # the job's creation, on the server's clock
    end = there + 25.0

    def answer(request: object, context: object) -> dict[str, object]:
        now = clock.time() + offset
        context.headers["Date"] = email.utils.formatdate(now, usegmt=True)  # type: ignore[attr-defined]
        done = now >= end
        return job_body(
            5 if done else 4,
            "Complete" if done else "Running",
            progress=100 if done else 0,
            eta=None if done else round(end),
            update_id=1,
            jobcreated=int(there),
            jobstart=str(int(there)),
            jobupdated=int(now) if done else int(there),
        )

    requests_mock.get(status_url("imageupdate", 1), json=answer)
    clock.advance(1.3)
    settings = make_settings(update_ids=(1,), timeout=120.0)
    client = StatusClient(settings, clock, Recorder())
    deadline = settings.deadline(clock.monotonic())
    result = Waiter(client, settings, clock, Recorder(), random.Random(3), deadline=deadline).run()
    assert result.exit_code == 0
    assert 0.0 <= clock.time() - (end - offset) <= 1.0
    assert client.requests_made <= 4  # the loop's 3, and one aimed at the end
