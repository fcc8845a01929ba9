"""One status answer as the polling schedule sees it: what it said, and when it arrived."""

from __future__ import annotations

from dataclasses import dataclass

from gate.job import JobStatus


@dataclass(frozen=True)
class Observation:
    """One status answer and the unix time it arrived (on our clock).

    ``server_date``: its ``Date`` header (the server's clock, whole seconds), ``sent``: when its
    request left (our clock), where known; they tell how far the server's clock is from ours.
    """

    at: float
    status: JobStatus
    server_date: float | None = None
    sent: float | None = None
