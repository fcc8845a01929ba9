"""Every row of the outcome table, and the body validation."""

from __future__ import annotations

import pytest

from gate.errors import ApiError, MalformedResponse, UnknownJob
from gate.job import Verdict, classify, parse_status
from tests.fakes import job_body


def verdict(**kw: object) -> Verdict:
    return classify(parse_status(job_body(**kw))).verdict  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state_id", "name"),
    [(5, "Complete"), (5, "Completed"), (5, "COMPLETED"), (5, " completed ")],
)
def test_complete_succeeds(state_id: int | None, name: str) -> None:
    assert verdict(state_id=state_id, name=name) is Verdict.SUCCEEDED


def test_complete_with_job_error_fails() -> None:
    c = classify(parse_status(job_body(5, "Complete", error="disk full")))
    assert c.verdict is Verdict.FAILED
    assert "disk full" in c.reason


def test_complete_with_blank_job_error_succeeds() -> None:
    assert verdict(state_id=5, name="Complete", error="  ") is Verdict.SUCCEEDED


@pytest.mark.parametrize(
    ("state_id", "name"), [(6, "Failed"), (7, "Squashed"), (None, "failed"), (None, "Squashed")]
)
def test_failed_and_squashed_fail_with_state_and_error(state_id: int | None, name: str) -> None:
    c = classify(parse_status(job_body(state_id, name, error="bad url")))
    assert c.verdict is Verdict.FAILED
    assert name.lower() in c.reason.lower()
    assert "bad url" in c.reason


def test_failed_without_error_says_so() -> None:
    c = classify(parse_status(job_body(6, "Failed")))
    assert c.verdict is Verdict.FAILED
    assert "no error message" in c.reason


@pytest.mark.parametrize(
    ("state_id", "name"), [(1, "Created"), (2, "Pending"), (3, "Queued"), (4, "Running")]
)
def test_states_one_to_four_keep_running(state_id: int, name: str) -> None:
    c = classify(parse_status(job_body(state_id, name)))
    assert c.verdict is Verdict.RUNNING
    assert c.warning is None


def test_created_and_pending_are_not_done_even_at_100_percent() -> None:
    # A classic bug of hand-written loops: Created treated as done.
    assert verdict(state_id=1, name="Created", progress=100) is Verdict.RUNNING
    assert verdict(state_id=2, name="Pending", progress=100) is Verdict.RUNNING


def test_progress_never_decides_completion() -> None:
    assert verdict(state_id=4, name="Running", progress=100) is Verdict.RUNNING
    assert verdict(state_id=5, name="Complete", progress=0) is Verdict.SUCCEEDED


def test_jobfailed_while_running_warns_and_keeps_waiting() -> None:
    c = classify(parse_status(job_body(4, "Running", failed=2)))
    assert c.verdict is Verdict.RUNNING
    assert c.warning is not None and "jobfailed=2" in c.warning


def test_jobfailed_then_complete_succeeds() -> None:
    assert verdict(state_id=5, name="Complete", failed=1) is Verdict.SUCCEEDED


@pytest.mark.parametrize(("state_id", "name"), [(9, "Running"), (0, ""), (None, "Cancelled"), (None, "Done")])
def test_unknown_state_keeps_running_with_a_warning(state_id: int | None, name: str) -> None:
    c = classify(parse_status(job_body(state_id, name)))
    assert c.verdict is Verdict.RUNNING
    assert c.warning is not None and "unknown job state" in c.warning


def test_unknown_id_with_complete_name_never_succeeds() -> None:
    assert verdict(state_id=42, name="Complete") is Verdict.RUNNING


def test_conflicting_id_and_name_take_the_safe_reading() -> None:
    assert verdict(state_id=5, name="Failed") is Verdict.FAILED
    assert verdict(state_id=6, name="Complete") is Verdict.FAILED
    assert verdict(state_id=5, name="Running") is Verdict.RUNNING
    assert verdict(state_id=4, name="Complete") is Verdict.RUNNING


@pytest.mark.parametrize("name", ["Complete", "completed", " COMPLETE "])
def test_the_name_alone_decides_a_success(name: str) -> None:
    c = classify(parse_status(job_body(None, name)))
    assert c.verdict is Verdict.SUCCEEDED and c.warning is None


def test_state_id_5_without_the_required_name_is_not_a_success() -> None:
    c = classify(parse_status(job_body(5, None)))
    assert c.verdict is Verdict.RUNNING and c.warning and "without the required jobstatename" in c.warning


@pytest.mark.parametrize(
    "body",
    [
        {"success": False, "error": True, "error_message": "image locked by diffid: 218595"},
        {"success": False, "error_message": "forbidden"},
        {**job_body(), "error": True, "error_message": "boom"},
    ],
)
def test_error_bodies_are_api_errors(body: dict[str, object]) -> None:
    with pytest.raises(ApiError) as info:
        parse_status(body)
    assert str(body["error_message"]) in str(info.value)


def test_no_rows_is_unknown_job() -> None:
    with pytest.raises(UnknownJob):
        parse_status({"success": False, "error": True, "error_message": "No rows in result set"})


@pytest.mark.parametrize(
    "body",
    [
        [],
        "Running",
        None,
        {"success": True},
        job_body(state_id=None, name=None),
        job_body(name=5),  # type: ignore[arg-type]
        job_body(error=["x"]),  # type: ignore[arg-type]
        job_body(state_id="four"),  # type: ignore[arg-type]
    ],
)
def test_malformed_bodies(body: object) -> None:
    with pytest.raises(MalformedResponse):
        parse_status(body)


def test_documented_types_are_read() -> None:
    s = parse_status(job_body(4, "Running", progress=45, eta=1800000100, failed=0, update_id=1234))
    assert (s.state_id, s.progress, s.eta, s.start, s.job_id) == (4, 45, 1800000100, 1799999000, 1234)
