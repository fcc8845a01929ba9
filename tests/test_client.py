"""HTTP error mapping and retries, over requests-mock, on a fake clock."""

from __future__ import annotations

import email.utils
from typing import Any

import pytest
import requests
import requests_mock as rm

from gate.client import JobRef, StatusClient, retry_after_seconds
from gate.config import Credentials
from gate.errors import ApiError, CredentialsRejected, GateError, TimedOut, UnknownJob
from gate.report import Reporter
from tests.fakes import URL, FakeClock, Recorder, job_body, make_settings

JOB = JobRef("imageupdate", 1234)


def make_client(clock: FakeClock, reporter: Reporter | None = None, **kw: Any) -> StatusClient:
    return StatusClient(make_settings(**kw), clock, reporter or Recorder())


def test_request_shape(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    requests_mock.get(URL, json=job_body())
    status = make_client(clock).fetch(JOB, clock.monotonic() + 60)
    assert status.state_name == "Running"
    request = requests_mock.last_request
    assert request.qs == {"accountserviceid": ["77"]}
    assert request.headers["Authorization"] == "Basic QUtFWTpTS0VZ"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("clanforge-gate/")


def test_bearer_header(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    requests_mock.get(URL, json=job_body())
    make_client(clock, credentials=Credentials("bearer", secret="TOK")).fetch(JOB, clock.monotonic() + 60)
    assert requests_mock.last_request.headers["Authorization"] == "Bearer TOK"


def test_path_prefix_is_kept(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    requests_mock.get("https://api.test/prefix/cfp/v1/imageupdate/1234/status", json=job_body())
    make_client(clock, api_url="https://api.test/prefix").fetch(JOB, clock.monotonic() + 60)
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("code", [401, 403])
def test_credentials_rejected_not_retried(requests_mock: rm.Mocker, clock: FakeClock, code: int) -> None:
    requests_mock.get(URL, status_code=code, json={"error_message": "forbidden", "success": False})
    with pytest.raises(CredentialsRejected) as info:
        make_client(clock).fetch(JOB, clock.monotonic() + 60)
    assert requests_mock.call_count == 1
    message = str(info.value)
    assert f"HTTP {code}" in message and "CLANFORGE_ACCESS_KEY" in message and "forbidden" in message
    assert "https://api.test" in message


def test_404_is_unknown_id(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    requests_mock.get(URL, status_code=404, text="not here")
    with pytest.raises(UnknownJob, match="update 1234: not found"):
        make_client(clock).fetch(JOB, clock.monotonic() + 60)
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("code", [200, 400, 500])
def test_no_rows_is_unknown_id(requests_mock: rm.Mocker, clock: FakeClock, code: int) -> None:
    requests_mock.get(
        URL,
        status_code=code,
        json={"error_message": "No rows in result set", "success": False, "error": True},
    )
    with pytest.raises(UnknownJob):
        make_client(clock).fetch(JOB, clock.monotonic() + 60)
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("code", [400, 405, 409, 422])
def test_other_4xx_is_api_error_with_server_message(
    requests_mock: rm.Mocker, clock: FakeClock, code: int
) -> None:
    requests_mock.get(URL, status_code=code, json={"error_message": "bad accountserviceid", "success": False})
    with pytest.raises(ApiError, match="bad accountserviceid"):
        make_client(clock).fetch(JOB, clock.monotonic() + 60)
    assert requests_mock.call_count == 1


def test_error_body_on_200_is_api_error(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    body = {
        "messages": [],
        "error_code": 1,
        "error_message": "image locked by diffid: 218595",
        "success": False,
        "error": True,
    }
    requests_mock.get(URL, json=body)
    with pytest.raises(ApiError, match="image locked by diffid: 218595"):
        make_client(clock).fetch(JOB, clock.monotonic() + 60)
    assert requests_mock.call_count == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"status_code": 408, "text": ""},
        {"status_code": 429, "text": ""},
        {"status_code": 500, "text": "oops"},
        {"status_code": 502, "text": "<html>Bad Gateway</html>", "headers": {"Content-Type": "text/html"}},
        {"status_code": 503, "text": ""},
        {"status_code": 504, "text": ""},
        {"status_code": 200, "text": "<html>maintenance</html>", "headers": {"Content-Type": "text/html"}},
        {"status_code": 200, "text": '{"jobstateid": 4, "jobstat'},
        {"status_code": 200, "json": []},
        {"status_code": 200, "json": {"jobstateid": "x", "jobstatename": "Running"}},
        {"exc": requests.exceptions.ConnectionError("refused")},
        {"exc": requests.exceptions.ReadTimeout("slow")},
        {"exc": requests.exceptions.ConnectTimeout("slow")},
        {"exc": requests.exceptions.ChunkedEncodingError("cut")},
    ],
)
def test_transient_errors_are_retried(
    requests_mock: rm.Mocker, clock: FakeClock, bad: dict[str, Any]
) -> None:
    requests_mock.get(URL, [bad, bad, {"json": job_body(5, "Complete")}])
    recorder = Recorder()
    client = make_client(clock, recorder)
    status = client.fetch(JOB, clock.monotonic() + 60)
    assert status.state_id == 5
    assert requests_mock.call_count == 3
    assert client.requests_made == 3
    retries = [m for k, m in recorder.lines if k == "progress" and "retrying in" in m]
    assert len(retries) == 2
    # Backoff with jitter: about 1 s first, growing, never above the poll interval.
    assert 1.0 <= clock.sleeps[0] <= 2.0
    assert all(s <= 10.0 for s in clock.sleeps)


def test_backoff_capped_near_poll_interval(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    requests_mock.get(URL, [{"status_code": 503}] * 8 + [{"json": job_body()}])
    make_client(clock, poll_interval=5.0).fetch(JOB, clock.monotonic() + 600)
    assert len(clock.sleeps) == 8
    assert max(clock.sleeps) <= 5.0
    assert clock.sleeps[-1] >= 4.0


def test_retry_after_seconds_honoured(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    requests_mock.get(URL, [{"status_code": 429, "headers": {"Retry-After": "7"}}, {"json": job_body()}])
    make_client(clock).fetch(JOB, clock.monotonic() + 60)
    assert clock.sleeps == [7.0]


def test_retry_after_http_date_honoured(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    when = email.utils.formatdate(clock.time() + 12, usegmt=True)
    requests_mock.get(URL, [{"status_code": 503, "headers": {"Retry-After": when}}, {"json": job_body()}])
    make_client(clock).fetch(JOB, clock.monotonic() + 60)
    assert clock.sleeps[0] == pytest.approx(12, abs=1)


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("5", 0) == 5
    assert retry_after_seconds("0", 0) == 0
    assert retry_after_seconds("junk", 0) is None
    assert retry_after_seconds(None, 0) is None
    assert retry_after_seconds("-3", 0) == 0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470) == 10
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490) == 0


def test_retries_stop_at_the_deadline(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    requests_mock.get(URL, status_code=503)
    start = clock.monotonic()
    with pytest.raises(TimedOut, match="HTTP 503"):
        make_client(clock).fetch(JOB, start + 30)
    assert clock.monotonic() <= start + 30
    assert sum(clock.sleeps) <= 30
    assert requests_mock.call_count >= 4


def test_retry_after_past_deadline_gives_up_without_sleeping(
    requests_mock: rm.Mocker, clock: FakeClock
) -> None:
    requests_mock.get(URL, status_code=429, headers={"Retry-After": "600"})
    with pytest.raises(TimedOut):
        make_client(clock).fetch(JOB, clock.monotonic() + 30)
    assert clock.sleeps == []
    assert requests_mock.call_count == 1


def test_request_timeout_is_capped_by_the_deadline(clock: FakeClock) -> None:
    seen: list[Any] = []

    class Session(requests.Session):
        def get(self, url: str | bytes, **kw: Any) -> requests.Response:  # type: ignore[override]
            seen.append(kw["timeout"])
            raise requests.exceptions.ReadTimeout("slow")

    client = StatusClient(make_settings(request_timeout=10.0), clock, Recorder(), session=Session())
    with pytest.raises(TimedOut):
        client.fetch(JOB, clock.monotonic() + 3)
    assert seen[0] == (3, 3)
    assert all(t[0] <= 3 and t[1] <= 3 for t in seen)


def test_tls_failure_is_a_gate_error_not_retried(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    requests_mock.get(URL, exc=requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(GateError, match="REQUESTS_CA_BUNDLE"):
        make_client(clock).fetch(JOB, clock.monotonic() + 60)
    assert requests_mock.call_count == 1


def test_redirect_same_host_keeps_auth(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    requests_mock.get(URL, status_code=302, headers={"Location": "https://api.test/v2/status"})
    requests_mock.get("https://api.test/v2/status", json=job_body())
    make_client(clock).fetch(JOB, clock.monotonic() + 60)
    assert requests_mock.last_request.headers.get("Authorization") == "Basic QUtFWTpTS0VZ"


def test_redirect_to_another_host_drops_auth(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    requests_mock.get(URL, status_code=302, headers={"Location": "https://elsewhere.test/status"})
    requests_mock.get("https://elsewhere.test/status", json=job_body())
    make_client(clock).fetch(JOB, clock.monotonic() + 60)
    assert requests_mock.last_request.url.startswith("https://elsewhere.test/")
    assert "Authorization" not in requests_mock.last_request.headers


def test_verbose_lines_describe_requests_without_credentials(
    requests_mock: rm.Mocker, clock: FakeClock
) -> None:
    requests_mock.get(URL, json=job_body())
    recorder = Recorder()
    make_client(clock, recorder).fetch(JOB, clock.monotonic() + 60)
    debug = recorder.text("debug")
    assert "GET https://api.test/cfp/v1/imageupdate/1234/status?accountserviceid=77" in debug
    assert "HTTP 200" in debug
    assert "SKEY" not in debug and "QUtFWTpTS0VZ" not in debug
