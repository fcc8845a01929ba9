"""The job shape shared by image update, diff and version jobs, and how a status is judged.

Pure: no I/O. ``parse_status`` turns a decoded JSON body into a ``JobStatus`` (or raises),
``classify`` decides whether the job is still running, succeeded or failed.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

from gate.errors import ApiError, MalformedResponse, UnknownJob
from gate.kinds import WAITABLE, JobKind


class State(enum.IntEnum):
    """Documented job states."""

    CREATED = 1
    PENDING = 2
    QUEUED = 3
    RUNNING = 4
    COMPLETE = 5
    FAILED = 6
    SQUASHED = 7


RUNNING_STATES = frozenset({State.CREATED, State.PENDING, State.QUEUED, State.RUNNING})
_NAMES = {
    "created": State.CREATED,
    "pending": State.PENDING,
    "queued": State.QUEUED,
    "running": State.RUNNING,
    "complete": State.COMPLETE,
    "completed": State.COMPLETE,
    "failed": State.FAILED,
    "squashed": State.SQUASHED,
}

NO_ROWS = "no rows in result set"


@dataclass(frozen=True)
class IgnoredField:
    """An informing field the answer carried in a form that holds no usable value."""

    name: str
    value: str

    def __str__(self) -> str:
        return f"field {self.name!r} is {self.value}, not an integer in range: ignored"


@dataclass(frozen=True)
class JobStatus:
    """One answer of a ``.../status`` endpoint, typed."""

    state_id: int | None
    state_name: str
    progress: int
    eta: int | None
    failed: int
    error: str | None
    created: int
    updated: int
    start: int | None = None
    job_id: int | None = None
    # The informing fields that could not be read: left out, never decisive.
    ignored: tuple[IgnoredField, ...] = ()


class Verdict(enum.Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class Classification:
    """What a status means for the wait, and what to tell the user about it."""

    verdict: Verdict
    state: State | None
    reason: str
    warning: str | None = None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# Every number the status carries (timestamps, percentages, counts) is far below this: a value
# beyond it is a malformed answer, not a date in the year 33658.
MAX_FIELD_VALUE = 10**12
_INTEGER_TEXT = re.compile(r"-?[0-9]{1,20}")
# The forms a JSON flag takes in the wild; anything else is not a flag we can read.
_TRUE_FLAGS = frozenset({"true", "1", "yes"})
_FALSE_FLAGS = frozenset({"false", "0", "no", ""})
# The fields that name a job in an answer (its kind's own, and ``jobid`` for any kind).
ID_FIELDS = tuple(kind.id_field for kind in WAITABLE)
# The documented fields that only inform the wait (shown, used by the schedule), never decide it.
INFORMING_FIELDS = ("jobprogress", "jobeta", "jobfailed", "jobcreated", "jobupdated", "jobstart")


def _read_int(value: object) -> int | None:
    """An integer in any form the API has been seen to send (a number, a string holding one), or
    None when the value holds no integer in range."""
    number: int | None = None
    if _is_int(value):
        number = int(value)  # type: ignore[call-overload]
    # Some fields are documented as integers but are strings holding a number (jobstart).
    elif isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        number = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    if number is None or abs(number) > MAX_FIELD_VALUE:
        return None
    return number


def _int_field(body: Mapping[str, object], key: str, *, optional: bool) -> int | None:
    """A field that decides (a state id, an echoed job id): unreadable is malformed."""
    value = body.get(key)
    if value is None:
        if optional:
            return None
        raise MalformedResponse(f"field {key!r} is missing")
    number = _read_int(value)
    if number is None:
        raise MalformedResponse(f"field {key!r} is {_short(value)}, not an integer in range")
    return number


def _informing_int(body: Mapping[str, object], key: str, notes: list[IgnoredField]) -> int | None:
    """A field that only informs (progress, ETA, timestamps, the failure count): absent, null or
    unreadable is None, and an unreadable value is noted, never an error."""
    value = body.get(key)
    if value is None:
        return None
    number = _read_int(value)
    if number is None:
        notes.append(IgnoredField(key, _short(value)))
    return number


def _short(value: object, limit: int = 40) -> str:
    """A value for a message: its repr, cut short (an answer may hold a 400-digit number)."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge number"
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def read_flag(body: Mapping[str, object], key: str) -> bool | None:
    """A JSON flag in any of its forms (``true``, ``"true"``, ``1``, ``"1"``, ``"yes"``); None if absent.

    A value that is no flag at all is reported as None for ``error`` only when it is empty; any
    other unreadable value raises, so the caller never guesses in the unsafe direction.
    """
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if _is_int(value):
        if value in (0, 1):
            return bool(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE_FLAGS:
            return True
        if text in _FALSE_FLAGS:
            return False
    raise MalformedResponse(f"field {key!r} is {_short(value)}, not a flag")


def check_api_error(body: object) -> Mapping[str, object]:
    """Raise for a body that is not an object or that reports a failed request; return it.

    The flags are read the safe way: any sign of an error is an error, and ``error: true`` beside
    ``success: true`` (flags that contradict each other) is an error too, never a success.
    """
    if not isinstance(body, Mapping):
        raise MalformedResponse(f"expected a JSON object, got {type(body).__name__}")
    message = body.get("error_message")
    text = message.strip() if isinstance(message, str) else ""
    try:
        error = read_flag(body, "error")
    except MalformedResponse:
        # ``error: "something went wrong"``: a message where a flag belongs is still an error.
        error = True
        if not text:
            raw = body.get("error")
            text = raw.strip() if isinstance(raw, str) else ""
    success = read_flag(body, "success")
    if error or success is False:
        if error and success:
            said = f": {text}" if text else ""
            text = f"the answer's flags contradict each other (error and success){said}"
        text = text or "the API reported an error"
        if NO_ROWS in text.lower():
            raise UnknownJob(text)
        raise ApiError(text)
    return body


def check_job_id(body: Mapping[str, object], kind: JobKind | str, job_id: int) -> None:
    """An answer that names a job must name the one asked about (a proxy's cache, a mixed-up
    backend); otherwise it is malformed, never a verdict on this job."""
    for key in (JobKind.of(kind).id_field, "jobid"):
        if not key or body.get(key) is None:
            continue
        named = _int_field(body, key, optional=False)
        if named != job_id:
            raise MalformedResponse(f"the answer is about job {named} ({key}), not {job_id}")


def parse_status(body: object) -> JobStatus:
    """Validate a decoded status body against the documented job shape.

    Strict on what decides (the state, the job error; the flags and the echoed id are checked
    before this), lenient on what informs: an informing field that is absent, null or of another
    type is left out and named in ``ignored``, never a reason to wait, retry or fail.
    """
    fields = check_api_error(body)
    name = fields.get("jobstatename")
    if name is None:
        name = ""
    if not isinstance(name, str):
        raise MalformedResponse(f"field 'jobstatename' is {_short(name)}, not a string")
    state_id = _int_field(fields, "jobstateid", optional=True)
    if state_id is None and not name.strip():
        raise MalformedResponse("neither 'jobstateid' nor 'jobstatename' is present")
    error = fields.get("joberror")
    if error is not None and not isinstance(error, str):
        raise MalformedResponse(f"field 'joberror' is {_short(error)}, not a string")
    notes: list[IgnoredField] = []
    informing = {key: _informing_int(fields, key, notes) for key in INFORMING_FIELDS}
    return JobStatus(
        state_id=state_id,
        state_name=name,
        progress=max(0, min(100, informing["jobprogress"] or 0)),
        eta=informing["jobeta"] or None,
        failed=informing["jobfailed"] or 0,
        error=error,
        created=informing["jobcreated"] or 0,
        updated=informing["jobupdated"] or 0,
        start=informing["jobstart"],
        job_id=next(
            (_int_field(fields, key, optional=True) for key in ID_FIELDS if key in fields),
            None,
        ),
        ignored=tuple(notes),
    )


FINAL_FAILURES = frozenset({State.FAILED, State.SQUASHED})


def state_of(status: JobStatus) -> State | None:
    """The documented state the answer states, or None when it states none it can prove.

    The name decides: it is the field the API promises (``jobstatename`` is required,
    ``jobstateid`` optional). An id that agrees, or none, leaves the name's state; one that
    disagrees makes the pair unknown, except that a failure on either side is a failure. Without
    a name the id alone can say "running" or "failed", never "complete".
    """
    by_id = id_state(status.state_id)
    named = name_state(status.state_name)
    if named is not None and (status.state_id is None or by_id is named):
        return named
    failure = next((state for state in (by_id, named) if state in FINAL_FAILURES), None)
    if failure is not None:
        return failure
    if not status.state_name.strip() and by_id in RUNNING_STATES:
        return by_id
    return None


def id_state(state_id: int | None) -> State | None:
    """The documented state a ``jobstateid`` stands for, or None (absent or undocumented)."""
    return State(state_id) if state_id is not None and state_id in State._value2member_map_ else None


def name_state(name: str) -> State | None:
    """The state a ``jobstatename`` names (any case, trimmed), or None for an unknown name."""
    return _NAMES.get(name.strip().lower())


def state_label(status: JobStatus) -> str:
    """A display name: the API's own name, else the documented one, else the raw id."""
    if status.state_name.strip():
        return status.state_name
    by_id = id_state(status.state_id)
    return by_id.name.capitalize() if by_id is not None else f"state {status.state_id}"


def _doubt(status: JobStatus, state: State | None) -> str | None:
    """What to warn about the state the answer gave, or None when it is plain."""
    known_id = status.state_id is None or id_state(status.state_id) is not None
    named = name_state(status.state_name)
    if state is None:
        if not status.state_name.strip() and status.state_id == State.COMPLETE:
            return (
                f"the answer gives state id 5 without the required jobstatename ({_pair(status)}); "
                "treating it as still running until the name says Complete"
            )
        if known_id and named is not None:
            return f"the job's state id and name disagree ({_pair(status)}); treating it as still running"
        return f"unknown job state {_pair(status)}; treating it as still running"
    if (named is not None and named is not state) or status.state_id not in (None, state):
        taken = state.name.capitalize()
        return f"the job's state id and name disagree ({_pair(status)}); taking it as {taken}"
    return None


def classify(status: JobStatus) -> Classification:
    """Decide the job's verdict. Never succeeds on anything but a Complete the name states."""
    state = state_of(status)
    label = state_label(status)
    warning = _doubt(status, state)
    job_error = (status.error or "").strip()
    if state is None:
        return Classification(Verdict.RUNNING, None, label, warning=warning)
    if state is State.COMPLETE:
        if job_error:
            return Classification(Verdict.FAILED, state, f"{label} but the job reports an error: {job_error}")
        return Classification(Verdict.SUCCEEDED, state, label)
    if state in FINAL_FAILURES:
        reason = f"{label}: {job_error}" if job_error else f"{label} (the job gave no error message)"
        return Classification(Verdict.FAILED, state, reason, warning=warning)
    if warning is None and status.failed > 0:
        warning = (
            f"the job reports jobfailed={status.failed} while {label}; waiting for a final state to decide"
        )
    return Classification(Verdict.RUNNING, state, label, warning=warning)


def _pair(status: JobStatus) -> str:
    """The state as the API gave it, for a warning: ``id 5 / 'Cancelled'``."""
    parts = []
    if status.state_id is not None:
        parts.append(f"id {status.state_id}")
    if status.state_name:
        parts.append(_short(status.state_name))
    return " / ".join(parts) or "(none given)"
