"""Test doubles shared by the unit tests."""

from __future__ import annotations

from typing import Any


class FakeClock:
    """A clock whose sleep advances time instantly; records every sleep."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.wall = start
        self.mono = 1000.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"negative sleep {seconds}"
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def job_body(
    state_id: int | None = 4,
    name: str | None = "Running",
    *,
    progress: int = 0,
    eta: int | None = None,
    failed: int = 0,
    error: str | None = None,
    update_id: int = 1234,
    **extra: Any,
) -> dict[str, Any]:
    """A status body shaped like the documented example."""
    body: dict[str, Any] = {
        "jobprogress": progress,
        "jobstart": "1799999000",
        "joberror": error,
        "jobeta": eta,
        "jobfailed": failed,
        "success": True,
        "jobcreated": 1799998000,
        "updateid": update_id,
        "jobupdated": 1799999500,
    }
    if state_id is not None:
        body["jobstateid"] = state_id
    if name is not None:
        body["jobstatename"] = name
    body.update(extra)
    return body


def make_result(outcome: Any = None, **fields: Any) -> Any:
    """A one-job ``Result`` in the given outcome (default failed), fields overridable."""
    from gate.result import EXIT_CODES, Outcome, Result

    outcome = outcome or Outcome.FAILED
    values: dict[str, Any] = {
        "update_id": 1234,
        "outcome": outcome,
        "exit_code": EXIT_CODES.get(outcome, 143),
        "message": f"update 1234: {outcome.value}",
        "state_id": 6,
        "state_name": "Failed",
        "progress": 40,
        "polls": 7,
        "elapsed_seconds": 125.4,
    }
    values.update(fields)
    return Result(**values)
