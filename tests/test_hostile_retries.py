"""A floor on every retry wait and a cap on attempts per minute, whatever the server asks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import requests_mock as rm

from gate.client import FIRST_RETRY_WAIT, MAX_ATTEMPTS_PER_MINUTE, JobRef, StatusClient
from gate.config import Credentials, Settings
from gate.errors import TimedOut
from gate.kinds import JobKind
from gate.result import Result
from tests.fakes import ACCESS, SECRET, FakeClock

URL = "https://api.test/cfp/v1/imageupdate/1234/status"


class Silent:
    def begin(self, kind: JobKind, job_ids: Sequence[int]) -> None: ...
    def progress(self, message: str) -> None: ...
    def debug(self, message: str) -> None: ...
    def warning(self, message: str) -> None: ...
    def created(self, kind: str, job_id: int) -> None: ...
    def end(self, result: Result) -> None: ...


def client(clock: FakeClock, **kw: Any) -> StatusClient:
    settings = Settings(
        update_ids=(1234,),
        account_service_id="77",
        api_url="https://api.test",
        timeout=600.0,
        poll_interval=10.0,
        min_poll_interval=1.0,
        request_timeout=10.0,
        result_file=None,
        credentials=Credentials("basic", user=ACCESS, secret=SECRET),
    )
    return StatusClient(settings, clock, Silent(), **kw)


@pytest.mark.parametrize(
    "retry_after",
    ["0", "-5", "-0.0", "0.0001", "Wed, 21 Oct 2015 07:28:00 GMT", "Thu, 01 Jan 1970 00:00:00 GMT"],
)
def test_every_retry_wait_has_a_floor(requests_mock: rm.Mocker, clock: FakeClock, retry_after: str) -> None:
    requests_mock.get(URL, status_code=503, headers={"Retry-After": retry_after})
    with pytest.raises(TimedOut):
        client(clock).fetch(JobRef("imageupdate", 1234), clock.monotonic() + 120)
    assert clock.sleeps and min(clock.sleeps) >= FIRST_RETRY_WAIT
    assert requests_mock.call_count <= 120 / FIRST_RETRY_WAIT + 1


def test_a_long_retry_after_is_still_honoured(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    requests_mock.get(URL, status_code=429, headers={"Retry-After": "30"})
    with pytest.raises(TimedOut):
        client(clock).fetch(JobRef("imageupdate", 1234), clock.monotonic() + 100)
    assert clock.sleeps[0] == 30


def test_attempts_per_minute_are_capped_even_with_a_tiny_backoff(
    requests_mock: rm.Mocker, clock: FakeClock
) -> None:
    requests_mock.get(URL, status_code=503, headers={"Retry-After": "0"})
    started = clock.monotonic()
    times: list[float] = []

    def record(request: Any, context: Any) -> str:
        times.append(clock.monotonic() - started)
        context.status_code = 503
        return "{}"

    requests_mock.get(URL, text=record, headers={"Retry-After": "0"})
    with pytest.raises(TimedOut):
        client(clock, first_retry_wait=0.01).fetch(JobRef("imageupdate", 1234), started + 300)
    assert len(times) > MAX_ATTEMPTS_PER_MINUTE
    for index, at in enumerate(times):
        in_window = [t for t in times[index:] if t < at + 60.0]
        assert len(in_window) <= MAX_ATTEMPTS_PER_MINUTE
