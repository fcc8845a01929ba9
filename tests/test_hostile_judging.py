"""False greens: a success must be proven. Attacks on how an answer is judged, from the body's
state, its flags, its job id, its JSON, its numbers, and on how ids and redirects are read."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import requests_mock as rm

from gate.cli import build_parser
from gate.client import JobRef, StatusClient
from gate.config import Credentials, Settings, load_settings, parse_job_id, parse_job_ids, read_yaml_config
from gate.errors import ApiError, ConfigError, MalformedResponse, TimedOut
from gate.exchange import check_redirect
from gate.job import Verdict, check_api_error, check_job_id, classify, parse_status
from gate.kinds import JobKind
from gate.result import Result
from tests.fakes import ACCESS, SECRET, FakeClock, job_body

API = "https://api.test"


class Quiet:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def begin(self, kind: JobKind, job_ids: Sequence[int]) -> None: ...
    def progress(self, message: str) -> None:
        self.lines.append(message)

    def debug(self, message: str) -> None: ...
    def warning(self, message: str) -> None:
        self.lines.append(message)

    def created(self, kind: str, job_id: int) -> None: ...
    def end(self, result: Result) -> None: ...


def client(clock: FakeClock, **kw: Any) -> StatusClient:
    values: dict[str, Any] = {
        "update_ids": (1234,),
        "account_service_id": "77",
        "api_url": API,
        "timeout": 60.0,
        "poll_interval": 10.0,
        "min_poll_interval": 1.0,
        "request_timeout": 10.0,
        "result_file": None,
        "credentials": Credentials("basic", user=ACCESS, secret=SECRET),
        **kw,
    }
    return StatusClient(Settings(**values), clock, Quiet())


# -- state and name ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state_id", "name", "verdict"),
    [
        (5, "Complete", Verdict.SUCCEEDED),
        (5, "  completed ", Verdict.SUCCEEDED),
        (5, "COMPLETE", Verdict.SUCCEEDED),
        (5, "Cancelled", Verdict.RUNNING),
        (5, "garbage", Verdict.RUNNING),
        (5, "", Verdict.RUNNING),
        (5, None, Verdict.RUNNING),
        (5, "Complete\u200b", Verdict.RUNNING),
        (None, "Complete", Verdict.SUCCEEDED),
        (None, " complete ", Verdict.SUCCEEDED),
        (None, "Complete\u200b", Verdict.RUNNING),
        (4, "Complete", Verdict.RUNNING),
        (5, "Failed", Verdict.FAILED),
        (6, "Complete", Verdict.FAILED),
        (99, "Complete", Verdict.RUNNING),
    ],
)
def test_only_a_complete_name_with_no_disagreeing_id_succeeds(
    state_id: int | None, name: str | None, verdict: Verdict
) -> None:
    c = classify(parse_status(job_body(state_id, name)))
    assert c.verdict is verdict
    if verdict is Verdict.RUNNING and state_id == 5:
        assert c.warning and "treating it as still running" in c.warning


# -- flags -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("error", [True, "true", "TRUE", 1, "1", "yes", " Yes ", "something broke"])
def test_any_sign_of_an_error_is_an_error(error: object) -> None:
    with pytest.raises(ApiError):
        check_api_error({**job_body(5, "Complete"), "success": True, "error": error})


@pytest.mark.parametrize("success", [False, "false", 0, "0", "no", ""])
def test_any_form_of_success_false_is_an_error(success: object) -> None:
    with pytest.raises(ApiError):
        check_api_error({**job_body(5, "Complete"), "success": success})


@pytest.mark.parametrize("success", [True, "true", 1, "1", "yes"])
def test_contradicting_flags_are_an_error_not_a_success(success: object) -> None:
    with pytest.raises(ApiError, match="contradict"):
        check_api_error({**job_body(5, "Complete"), "success": success, "error": "true"})


@pytest.mark.parametrize("success", ["maybe", 2, [], {}, 1.5])
def test_an_unreadable_success_flag_is_malformed(success: object) -> None:
    with pytest.raises(MalformedResponse):
        check_api_error({**job_body(5, "Complete"), "success": success})


@pytest.mark.parametrize("error", [False, "false", 0, "0", "no", "", None])
def test_a_clear_error_flag_lets_the_answer_through(error: object) -> None:
    check_api_error({**job_body(5, "Complete"), "error": error})


# -- the job's own id -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("imageupdate", {"updateid": 999}),
        ("imageupdate", {"updateid": "999"}),
        ("imageupdate", {"jobid": 999}),
        ("imagediff", {"diffid": 999}),
        ("imageversion", {"imageversionid": 999}),
        ("imageupdate", {"updateid": "1234x"}),
        ("imageupdate", {"updateid": True}),
    ],
)
def test_an_answer_about_another_job_is_malformed(kind: str, body: dict[str, Any]) -> None:
    with pytest.raises(MalformedResponse):
        check_job_id({**job_body(5, "Complete"), **body}, kind, 1234)


def test_an_answer_naming_the_job_asked_about_passes() -> None:
    check_job_id({**job_body(5, "Complete"), "updateid": "1234", "jobid": 1234}, "imageupdate", 1234)
    # A diff may name the update it came from: only its own id is checked.
    check_job_id({**job_body(5, "Complete"), "updateid": 77, "diffid": 1234}, "imagediff", 1234)


def test_an_echo_of_another_job_never_succeeds_over_http(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    url = f"{API}/cfp/v1/imageupdate/1234/status"
    requests_mock.get(url, json=job_body(5, "Complete", update_id=4321))
    with pytest.raises(TimedOut, match="not 1234"):
        client(clock, timeout=20.0).fetch(JobRef("imageupdate", 1234), clock.monotonic() + 20)
    assert requests_mock.call_count > 1  # retried as malformed, never a verdict


# -- the JSON itself -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"jobstateid": 4, "jobstateid": 5, "jobstatename": "Complete", "success": true}',
        '{"jobstateid": 5, "jobstatename": "Running", "jobstatename": "Complete"}',
        '{"success": false, "success": true, "jobstateid": 5, "jobstatename": "Complete"}',
        '{"jobstateid": 5, "jobstatename": "Complete", "jobeta": NaN}',
        '{"jobstateid": 5, "jobstatename": "Complete", "jobeta": Infinity}',
        "[" * 100_000 + "]" * 100_000,
    ],
)
def test_ambiguous_json_is_malformed(requests_mock: rm.Mocker, clock: FakeClock, text: str) -> None:
    url = f"{API}/cfp/v1/imageupdate/1234/status"
    requests_mock.get(url, text=text)
    with pytest.raises(TimedOut, match=r"not JSON|malformed"):
        client(clock, timeout=5.0).fetch(JobRef("imageupdate", 1234), clock.monotonic() + 5)


@pytest.mark.parametrize(
    "fields",
    [
        {"jobeta": "--5"},
        {"jobeta": "1" * 400},
        {"jobeta": 10**400},
        {"jobprogress": "5-"},
        {"jobstart": "\u0661\u0662\u0663"},
        {"jobcreated": 1e300},
    ],
)
def test_unreadable_informing_numbers_are_ignored_not_decisive(fields: dict[str, Any]) -> None:
    for state_id, name, verdict in [(4, "Running", Verdict.RUNNING), (5, "Complete", Verdict.SUCCEEDED)]:
        status = parse_status({**job_body(state_id, name), **fields})
        assert classify(status).verdict is verdict
        (key,) = fields
        assert [field.name for field in status.ignored] == [key]


@pytest.mark.parametrize("fields", [{"jobstateid": "5 5"}, {"jobstateid": 10**400}, {"updateid": "12x"}])
def test_unreadable_deciding_numbers_are_malformed_answers(fields: dict[str, Any]) -> None:
    with pytest.raises(MalformedResponse):
        body = {**job_body(5, "Complete"), **fields}
        check_job_id(body, "imageupdate", 12)
        parse_status(body)


def test_a_huge_eta_neither_crashes_nor_delays_a_verdict(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    url = f"{API}/cfp/v1/imageupdate/1234/status"
    requests_mock.get(
        url,
        [
            {"text": '{"jobstateid": 5, "jobstatename": "Complete", "jobeta": ' + "9" * 400 + "}"},
            {"json": job_body(4, "Running")},
        ],
    )
    status = client(clock).fetch(JobRef("imageupdate", 1234), clock.monotonic() + 60)
    assert classify(status).verdict is Verdict.SUCCEEDED
    assert requests_mock.call_count == 1


# -- ids as the user wrote them ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["²", "١٢", "1²", "12\u0663", "1" * 21, "0", "-1", "+5", "1e3", " ", True, 1.0]
)
def test_ids_are_ascii_digits_at_most_20(value: object) -> None:
    with pytest.raises(ConfigError) as info:
        parse_job_id(value, "update_id")
    assert "update_id" in str(info.value)


def test_twenty_digit_ids_are_fine() -> None:
    assert parse_job_id("9" * 20, "update_id") == int("9" * 20)


def _yaml(tmp_path: Path, text: str) -> dict[str, Any]:
    path = tmp_path / "gate.yml"
    path.write_text(text, encoding="utf-8")
    return read_yaml_config(str(path))


def _settings_from_yaml(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "gate.yml"
    path.write_text(text, encoding="utf-8")
    args: argparse.Namespace = build_parser().parse_args(["wait", "--config", str(path)])
    env = {"CLANFORGE_ACCESS_KEY": ACCESS, "CLANFORGE_SECRET_KEY": SECRET}
    return load_settings(args, env)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("update_id: 0755\naccount_service_id: 1\n", (755,)),  # YAML 1.1 would read 493 (octal)
        ("update_id: 1234\naccount_service_id: 1\n", (1234,)),
        ("update_ids: [0755, 12]\naccount_service_id: 1\n", (755, 12)),
        ("update_id: '0755'\naccount_service_id: 1\n", (755,)),
    ],
)
def test_yaml_ids_are_read_as_written(tmp_path: Path, text: str, expected: tuple[int, ...]) -> None:
    assert _settings_from_yaml(tmp_path, text).update_ids == expected


@pytest.mark.parametrize(
    "text",
    [
        "update_id: 12:30\naccount_service_id: 1\n",  # base 60 in YAML 1.1: 750
        "update_id: 0x1F\naccount_service_id: 1\n",
        "update_id: 1_000\naccount_service_id: 1\n",
        "update_id: 0b101\naccount_service_id: 1\n",
        "update_id: 1234\naccount_service_id: 0o17\n",
        "update_id: 1e3\naccount_service_id: 1\n",
    ],
)
def test_yaml_numbers_in_other_bases_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match=r"not a job id|not an account service id"):
        _settings_from_yaml(tmp_path, text)


def test_yaml_durations_in_base_60_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a duration"):
        _settings_from_yaml(tmp_path, "update_id: 1\naccount_service_id: 1\ntimeout: 1:30\n")


def test_at_most_1000_ids(tmp_path: Path) -> None:
    assert len(parse_job_ids(",".join(str(i) for i in range(1, 1001)))) == 1000
    with pytest.raises(ConfigError, match="more than 1000") as info:
        parse_job_ids(",".join(str(i) for i in range(1, 100_000)))
    assert len(str(info.value)) < 200


# -- redirects -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("https://api.test/a", "http://api.test/a"),
        ("https://api.test/a", "http://127.0.0.1:8080/a"),
        ("http://127.0.0.1:8080/a", "http://example.test/a"),
        ("https://api.test/a", "ftp://api.test/a"),
        ("https://api.test/a", "file:///etc/passwd"),
    ],
)
def test_redirects_never_downgrade(source: str, target: str) -> None:
    with pytest.raises(ApiError, match="redirected"):
        check_redirect(source, target)


@pytest.mark.parametrize(
    ("source", "target"),
    [("https://api.test/a", "https://other.test/b"), ("http://127.0.0.1:1/a", "http://localhost:2/b")],
)
def test_redirects_that_keep_the_protection_are_followed(source: str, target: str) -> None:
    check_redirect(source, target)


def test_a_downgrading_redirect_is_an_error_over_http(requests_mock: rm.Mocker, clock: FakeClock) -> None:
    url = f"{API}/cfp/v1/imageupdate/1234/status"
    requests_mock.get(url, status_code=302, headers={"Location": "http://api.test/plain"})
    plain = requests_mock.get("http://api.test/plain", json=job_body(5, "Complete"))
    with pytest.raises(ApiError, match="https to plain http"):
        client(clock).fetch(JobRef("imageupdate", 1234), clock.monotonic() + 60)
    assert plain.call_count == 0


def test_a_yaml_key_given_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'update_id' is given twice"):
        _settings_from_yaml(tmp_path, "update_id: 1\naccount_service_id: 1\nupdate_id: 2\n")
