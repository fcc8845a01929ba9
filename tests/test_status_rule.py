"""The status rule as one table: the name decides, an id may only agree or make the pair unknown
(a failure on either side is a failure), and only what decides can change a verdict.

Every combination of a state id (absent, agreeing, or of another kind) and a state name (success,
failure, running, unknown, absent) is judged for each job kind, from the one list below; then each
documented field of a Complete, a Failed and a Running answer is removed, nulled and retyped in
turn, and the verdict may change only where the rule says that field decides.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests_mock as rm

from gate.errors import MalformedResponse
from gate.job import Verdict, check_api_error, check_job_id, classify, parse_status
from gate.kinds import WAITABLE, JobKind
from tests.fakes import FakeClock, Recorder, cli, make_settings, make_waiter

S, F, R = Verdict.SUCCEEDED, Verdict.FAILED, Verdict.RUNNING
MALFORMED = "malformed"

# The values of each kind of name and id. An "agreeing" id is the name's own.
NAMES: dict[str, tuple[str | None, ...]] = {
    "success": ("Complete", "Completed", " complete ", "COMPLETED"),
    "failure": ("Failed", "Squashed", " failed "),
    "running": ("Created", "Pending", "Queued", "Running"),
    "unknown": ("Cancelled", "Done", "Complete\u200b"),
    "absent": (None, "", "  "),
}
IDS: dict[str, tuple[int | None, ...]] = {
    "absent": (None,),
    "success": (5,),
    "failure": (6, 7),
    "running": (1, 2, 3, 4),
    "unknown": (0, 8, 99),
}
OWN_ID = {"complete": 5, "completed": 5, "failed": 6, "squashed": 7, "created": 1, "pending": 2}
OWN_ID |= {"queued": 3, "running": 4}

# (name kind, id kind) -> the verdict, and whether the gate warns about the pair. "agrees" is an
# id that is the name's own state; any other id of the same kind is covered by the kind's row.
RULE: dict[tuple[str, str], tuple[Verdict | str, bool]] = {
    ("success", "absent"): (S, False),
    ("success", "agrees"): (S, False),
    ("success", "failure"): (F, True),
    ("success", "running"): (R, True),
    ("success", "unknown"): (R, True),
    ("failure", "absent"): (F, False),
    ("failure", "agrees"): (F, False),
    ("failure", "success"): (F, True),
    ("failure", "failure"): (F, True),  # Failed with 7: still a failure
    ("failure", "running"): (F, True),
    ("failure", "unknown"): (F, True),
    ("running", "absent"): (R, False),
    ("running", "agrees"): (R, False),
    ("running", "success"): (R, True),
    ("running", "failure"): (F, True),
    ("running", "running"): (R, True),
    ("running", "unknown"): (R, True),
    ("unknown", "absent"): (R, True),
    ("unknown", "success"): (R, True),
    ("unknown", "failure"): (F, False),
    ("unknown", "running"): (R, True),
    ("unknown", "unknown"): (R, True),
    ("absent", "absent"): (MALFORMED, False),
    ("absent", "success"): (R, True),
    ("absent", "failure"): (F, False),
    ("absent", "running"): (R, False),
    ("absent", "unknown"): (R, True),
}


@dataclass(frozen=True)
class Case:
    kind: JobKind
    name: str | None
    state_id: int | None
    verdict: Verdict | str
    warns: bool

    def __str__(self) -> str:
        return f"{self.kind.value}-{self.name!r}-{self.state_id}"


def _id_kind(name_kind: str, name: str | None, state_id: int | None) -> str:
    own = OWN_ID.get((name or "").strip().lower())
    if state_id is not None and state_id == own:
        return "agrees"
    return next(kind for kind, values in IDS.items() if state_id in values)


def cases() -> Iterator[Case]:
    for kind, (name_kind, names), ids in itertools.product(WAITABLE, NAMES.items(), IDS.values()):
        for name, state_id in itertools.product(names, ids):
            verdict, warns = RULE[(name_kind, _id_kind(name_kind, name, state_id))]
            yield Case(kind, name, state_id, verdict, warns)


CASES = list(cases())


def body_for(kind: JobKind, name: str | None, state_id: int | None, job_id: int = 4242) -> dict[str, Any]:
    """An answer exactly as the documentation shows it, the optional state id as given."""
    body: dict[str, Any] = {
        "jobprogress": 40,
        "jobstart": "1799999000",
        "joberror": None,
        "jobeta": 1800000900,
        "jobfailed": 0,
        "success": True,
        "jobcreated": 1799998000,
        "jobupdated": 1799999500,
        kind.id_field: job_id,
    }
    if state_id is not None:
        body["jobstateid"] = state_id
    if name is not None:
        body["jobstatename"] = name
    return body


def judge(kind: JobKind, body: dict[str, Any], job_id: int = 4242) -> tuple[Verdict | str, str | None]:
    try:
        check_api_error(body)
        check_job_id(body, kind, job_id)
        c = classify(parse_status(body))
    except MalformedResponse:
        return MALFORMED, None
    return c.verdict, c.warning


def test_the_table_covers_every_pair_of_kinds() -> None:
    seen = {(n, _id_kind(n, name, i)) for n, names in NAMES.items() for name in names for i in _all_ids()}
    assert seen == set(RULE)
    assert len(CASES) > 300


def _all_ids() -> tuple[int | None, ...]:
    return tuple(i for ids in IDS.values() for i in ids)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_rule(case: Case) -> None:
    verdict, warning = judge(case.kind, body_for(case.kind, case.name, case.state_id))
    assert verdict == case.verdict
    assert (warning is not None) is case.warns, warning


@pytest.mark.parametrize("kind", WAITABLE)
@pytest.mark.parametrize("name", NAMES["success"])
def test_a_job_error_turns_a_complete_into_a_failure(kind: JobKind, name: str) -> None:
    for state_id in (None, 5):
        body = {**body_for(kind, name, state_id), "joberror": "install script exited 1"}
        c = classify(parse_status(body))
        assert c.verdict is F and "install script exited 1" in c.reason
        assert classify(parse_status({**body, "joberror": "  "})).verdict is S


def test_the_name_alone_deciding_is_what_makes_a_plain_complete_succeed() -> None:
    # The regression this table guards: "Complete" without the optional id was a timeout.
    for kind in WAITABLE:
        assert judge(kind, body_for(kind, "Complete", None)) == (S, None)
        assert judge(kind, body_for(kind, "Failed", None))[0] is F


# -- only what decides can change a verdict --------------------------------------------------------

DECIDING = ("jobstatename", "jobstateid", "joberror", "success")
BASES = {"Complete": (5, S), "Failed": (6, F), "Running": (4, R)}


def _variants(value: object) -> list[tuple[str, object]]:
    """The answer's field removed, nulled, and retyped: its value as another JSON type."""
    out: list[tuple[str, object]] = [("null", None), ("list", [value]), ("object", {"v": value})]
    if isinstance(value, bool):
        out += [("string", str(value).lower()), ("number", int(value))]
    elif isinstance(value, int):
        out += [("string", str(value)), ("float", float(value)), ("fraction", value + 0.5), ("bool", True)]
    elif isinstance(value, str) and value.strip().isdigit():
        out += [("number", int(value))]
    elif isinstance(value, str):
        out += [("number", 5)]
    return out


def _mutations() -> Iterator[tuple[str, int, str, str, object]]:
    for base, (state_id, _) in BASES.items():
        body = body_for(JobKind.IMAGE_UPDATE, base, state_id)
        body["joberror"] = "boom" if base == "Failed" else None
        for key, value in body.items():
            yield base, state_id, key, "removed", KeyError
            for how, other in _variants(value if value is not None else ""):
                yield base, state_id, key, how, other


# Where a change may move the verdict, and to what: (base, field, how) -> verdict. Everything not
# listed must keep the base's verdict. A decisive field that cannot be read is malformed (retried).
EXPECTED_CHANGES: dict[tuple[str, str, str], Verdict | str] = {
    # Without the required name, id 5 is never a success (kept waiting, warned).
    ("Complete", "jobstatename", "removed"): R,
    ("Complete", "jobstatename", "null"): R,
}
for _base in BASES:
    for _how in ("list", "object", "number"):
        EXPECTED_CHANGES[(_base, "jobstatename", _how)] = MALFORMED
    for _how in ("list", "object", "fraction", "bool"):
        EXPECTED_CHANGES[(_base, "jobstateid", _how)] = MALFORMED
        EXPECTED_CHANGES[(_base, "updateid", _how)] = MALFORMED
    for _how in ("list", "object", "number"):
        EXPECTED_CHANGES[(_base, "joberror", _how)] = MALFORMED
    for _how in ("list", "object"):
        EXPECTED_CHANGES[(_base, "success", _how)] = MALFORMED
MUTATIONS = list(_mutations())


def test_every_expected_change_is_exercised() -> None:
    assert set(EXPECTED_CHANGES) <= {(base, key, how) for base, _, key, how, _ in MUTATIONS}


@pytest.mark.parametrize(("base", "state_id", "key", "how", "value"), MUTATIONS)
def test_only_deciding_fields_change_a_verdict(
    base: str, state_id: int, key: str, how: str, value: object
) -> None:
    body = body_for(JobKind.IMAGE_UPDATE, base, state_id)
    body["joberror"] = "boom" if base == "Failed" else None
    if value is KeyError:
        del body[key]
    else:
        body[key] = value
    expected = EXPECTED_CHANGES.get((base, key, how), BASES[base][1])
    verdict, _ = judge(JobKind.IMAGE_UPDATE, body)
    assert verdict == expected
    if key not in DECIDING and key != "updateid" and expected != MALFORMED:
        status = parse_status(body)
        readable = value is KeyError or value is None or how in ("string", "float", "number")
        assert bool(status.ignored) is not readable, status.ignored


def test_the_informing_fields_are_exactly_the_undecisive_documented_ones() -> None:
    from gate.job import INFORMING_FIELDS

    documented = set(body_for(JobKind.IMAGE_UPDATE, "Running", 4)) - {"updateid"}
    assert set(INFORMING_FIELDS) == documented - set(DECIDING)


def test_undocumented_fields_never_matter() -> None:
    body = {**body_for(JobKind.IMAGE_UPDATE, "Complete", None), "jobwhatever": [1, {"x": None}], "n": "x"}
    assert judge(JobKind.IMAGE_UPDATE, body) == (S, None)


# -- over HTTP, for each kind: the name alone ends the wait at the first answer -------------------


@pytest.mark.parametrize("kind", WAITABLE)
def test_a_plain_complete_ends_the_wait_for_every_kind(kind: JobKind, requests_mock: rm.Mocker) -> None:

    body = body_for(kind, "Complete", None, job_id=31)
    del body["jobeta"], body["jobstart"], body["joberror"]  # every optional field left out
    requests_mock.get(f"https://api.test/cfp/v1/{kind.value}/31/status", json=body)
    clock = FakeClock()
    settings = make_settings(update_ids=(31,), job=kind)
    recorder = Recorder()
    result = make_waiter(settings, clock, recorder).run()
    assert (result.outcome.value, result.exit_code, requests_mock.call_count) == ("succeeded", 0, 1)
    assert result.state_name == "Complete" and result.state_id is None


def test_an_ignored_field_is_said_once_in_verbose_output(requests_mock: rm.Mocker) -> None:
    running = {**body_for(JobKind.IMAGE_UPDATE, "Running", None, job_id=31), "jobprogress": "half"}
    done = {**body_for(JobKind.IMAGE_UPDATE, "Complete", None, job_id=31), "jobprogress": "all"}
    answers = [{"json": running}, {"json": running}, {"json": done}]
    requests_mock.get("https://api.test/cfp/v1/imageupdate/31/status", answers)

    code, out, _ = cli("--update-id", "31", "--verbose", "--poll-interval", "1s")
    assert code == 0, out
    notes = [line for line in out.splitlines() if "'jobprogress'" in line]
    assert len(notes) == 1 and "ignored" in notes[0]
