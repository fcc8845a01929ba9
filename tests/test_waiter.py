"""The wait loop on a fake clock: polling, lines, heartbeat, deadline."""

from __future__ import annotations

import random
from typing import Any

import requests_mock as rm

from gate.ending import Outcome
from tests.fakes import URL, FakeClock, Recorder, job_body, make_settings, make_waiter


def run(
    requests_mock: rm.Mocker, clock: FakeClock, responses: list[dict[str, Any]], **kw: Any
) -> tuple[Any, Recorder]:
    requests_mock.get(URL, responses)
    recorder = Recorder()
    settings = make_settings(**kw)
    waiter = make_waiter(settings, clock, recorder, random.Random(1))
    return waiter.run(), recorder


def test_walks_to_success(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    result, rec = run(
        requests_mock,
        clock,
        [
            {"json": job_body(1, "Created")},
            {"json": job_body(3, "Queued")},
            {"json": job_body(4, "Running", progress=45, eta=int(clock.time()) + 190)},
            {"json": job_body(4, "Running", progress=45, eta=int(clock.time()) + 190)},
            {"json": job_body(5, "Complete", progress=100)},
        ],
    )
    assert result.outcome is Outcome.SUCCEEDED and result.exit_code == 0
    assert result.polls == 5 and result.state_name == "Complete" and result.progress == 100
    lines = rec.text().splitlines()
    # One line per change of state or progress: the repeated Running 45% is not shown twice.
    assert [line.split(": ", 1)[1].split(" · ")[0] for line in lines] == [
        "Created",
        "Queued",
        "Running 45%",
        "Complete 100%",
    ]
    assert "eta" in lines[2] and "elapsed" in lines[2]
    assert "update 1234: succeeded" in result.message and result.message.endswith(", 5 requests")


def test_one_request_is_counted_in_the_singular(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    result, _ = run(requests_mock, clock, [{"json": job_body(5, "Complete", progress=100)}])
    assert result.message.endswith("after 0s, 1 request")


def test_failed_job_carries_its_error(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    result, _ = run(
        requests_mock, clock, [{"json": job_body(4)}, {"json": job_body(6, "Failed", error="bad url")}]
    )
    assert result.outcome is Outcome.FAILED and result.exit_code == 1
    assert result.job_error == "bad url" and "bad url" in result.message and result.state_id == 6


def test_squashed_is_failure(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    result, _ = run(requests_mock, clock, [{"json": job_body(7, "Squashed")}])
    assert result.exit_code == 1 and "Squashed" in result.message


def test_never_sleeps_past_the_deadline(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    start = clock.monotonic()
    result, _ = run(requests_mock, clock, [{"json": job_body(4)}], timeout=95.0, poll_interval=10.0)
    assert result.outcome is Outcome.TIMED_OUT and result.exit_code == 2
    assert clock.monotonic() - start <= 95.0 + 1e-9
    assert "may still be running" in result.message and "Running" in result.message
    assert result.polls <= 12


def test_deadline_bounds_retries_too(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    start = clock.monotonic()
    result, rec = run(requests_mock, clock, [{"json": job_body(4)}, {"status_code": 503}], timeout=40.0)
    assert result.outcome is Outcome.TIMED_OUT
    assert clock.monotonic() - start <= 40.0
    assert "HTTP 503" in result.message
    assert "retrying in" in rec.text()


def test_retries_inside_the_deadline_then_success(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    result, rec = run(
        requests_mock,
        clock,
        [
            {"json": job_body(4)},
            {"status_code": 502},
            {"status_code": 503},
            {"json": job_body(5, "Complete")},
        ],
    )
    assert result.outcome is Outcome.SUCCEEDED and result.polls == 4
    assert rec.text().count("retrying in") == 2


def test_heartbeat_every_minute(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    result, rec = run(
        requests_mock, clock, [{"json": job_body(4, progress=10)}], timeout=200.0, poll_interval=10.0
    )
    assert result.outcome is Outcome.TIMED_OUT
    lines = rec.text().splitlines()
    assert 3 <= len(lines) <= 5  # first line plus a heartbeat about every 60 s of a 200 s wait


def test_jobfailed_warns_once(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    result, rec = run(
        requests_mock,
        clock,
        [{"json": job_body(4, failed=1)}, {"json": job_body(4, failed=1)}, {"json": job_body(5, "Complete")}],
    )
    assert result.outcome is Outcome.SUCCEEDED
    assert rec.text("warning").count("jobfailed=1") == 1
    assert len(result.warnings) == 1


def test_unknown_state_never_succeeds(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    result, rec = run(requests_mock, clock, [{"json": job_body(9, "Done")}], timeout=30.0)
    assert result.outcome is Outcome.TIMED_OUT
    assert "unknown job state" in rec.text("warning")


def test_polls_follow_the_schedule(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    run(
        requests_mock,
        clock,
        [{"json": job_body(4)}] * 3 + [{"json": job_body(5, "Complete")}],
        poll_interval=10.0,
    )
    assert len(clock.sleeps) == 3
    assert all(1.0 <= s <= 10.0 + 1e-9 for s in clock.sleeps)


def test_eta_wording() -> None:
    from gate.client import JobRef
    from gate.waiter import describe

    job = JobRef("imageupdate", 1)
    at = 1_800_000_000
    assert "eta 3m10s" in describe(job, parse(job_body(eta=at + 190)), at, 5)
    assert "eta now" in describe(job, parse(job_body(eta=at)), at + 0.2, 5)
    assert "eta passed 20s ago" in describe(job, parse(job_body(eta=at)), at + 20, 5)
    assert "-" not in describe(job, parse(job_body(eta=at)), at + 0.3, 5)


def parse(body: dict[str, Any]) -> Any:
    from gate.job import parse_status

    return parse_status(body)


def test_no_eta_shown_once_the_job_ended() -> None:
    from gate.client import JobRef
    from gate.waiter import describe

    at = 1_800_000_000
    line = describe(JobRef("imageupdate", 1), parse(job_body(6, "Failed", eta=at + 30)), at, 5)
    assert "eta" not in line and "Failed" in line
