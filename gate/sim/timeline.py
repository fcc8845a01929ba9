"""The pure timeline of a simulated job: its state, progress and ETA after some elapsed time.

``job_phase`` says where a scenario's job stands, ``fault_for`` what goes wrong on its n-th
request, ``fleet_counts`` how far a fleet install has got. No I/O and no clock: the caller
passes the elapsed time.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from gate.job import State
from gate.sim.scenarios import (
    FAILING_MACHINES,
    FAILURE_MESSAGE,
    FLEET_SIZE,
    PUBLISH_GAP,
    PUBLISH_GAP_MAX,
    SQUASHED_MESSAGE,
    STUCK_MACHINES,
    DeployScenario,
    Scenario,
    timeline_of,
)

# Fractions of the duration at which the job changes state.
QUEUED_AT = 0.08
RUNNING_AT = 0.2
FAILED_AT = 0.7
SQUASHED_AT = 0.5
STALLED_AT = 0.5
# A fresh estimate is this much too pessimistic; it converges as the job runs.
ETA_OVERESTIMATE = 0.25


@dataclass(frozen=True)
class Phase:
    """Where a job stands. Times are offsets in seconds from the job's first request."""

    state: State
    progress: int
    updated_at: float
    started_at: float | None = None
    eta_at: float | None = None
    failed: int = 0
    error: str | None = None


def _running(elapsed: float, duration: float) -> Phase:
    start = RUNNING_AT * duration
    fraction = min(max((elapsed - start) / (duration - start), 0.0), 1.0)
    eta = duration + ETA_OVERESTIMATE * duration * (1.0 - fraction)
    return Phase(
        State.RUNNING,
        progress=min(int(fraction * 100), 99),
        updated_at=elapsed,
        started_at=start,
        eta_at=eta,
    )


def _ended(state: State, at: float, duration: float, error: str, *, failed: int = 0) -> Phase:
    """A job that ended ``at`` seconds in, other than by completing: frozen where it stood."""
    last = _running(at, duration)
    return Phase(
        state,
        progress=last.progress,
        updated_at=at,
        started_at=last.started_at,
        eta_at=last.eta_at,
        failed=failed,
        error=error,
    )


def job_phase(scenario: Scenario, elapsed: float, duration: float) -> Phase:
    """The job of ``scenario`` after ``elapsed`` seconds, for a job that takes ``duration``."""
    if duration <= 0:
        raise ValueError(f"duration must be positive, got {duration!r}")
    scenario = timeline_of(scenario)
    elapsed = max(elapsed, 0.0)
    if elapsed < QUEUED_AT * duration:
        return Phase(State.CREATED, progress=0, updated_at=0.0)
    if elapsed < RUNNING_AT * duration:
        return Phase(State.QUEUED, progress=0, updated_at=QUEUED_AT * duration)

    if scenario is Scenario.FAILURE and elapsed >= FAILED_AT * duration:
        return _ended(State.FAILED, FAILED_AT * duration, duration, FAILURE_MESSAGE, failed=1)
    if scenario is Scenario.SQUASHED and elapsed >= SQUASHED_AT * duration:
        return _ended(State.SQUASHED, SQUASHED_AT * duration, duration, SQUASHED_MESSAGE)
    if scenario is Scenario.STUCK:
        # Frozen at the stall point forever: no progress, no new estimate, no update.
        return _running(min(elapsed, STALLED_AT * duration), duration)

    if elapsed < duration:
        phase = _running(elapsed, duration)
    else:
        phase = Phase(
            State.COMPLETE,
            progress=100,
            updated_at=duration,
            started_at=RUNNING_AT * duration,
            eta_at=duration,
        )
    if scenario is Scenario.NO_ETA:
        return Phase(phase.state, 0, phase.updated_at, phase.started_at, None, phase.failed, phase.error)
    return phase


def final_offset(scenario: Scenario, duration: float) -> float | None:
    """Seconds after its start at which a job of ``scenario`` reaches its final state (None: never).

    The network scenarios have a successful job behind them; api-error and not-found never
    answer with a status at all.
    """
    if duration <= 0:
        raise ValueError(f"duration must be positive, got {duration!r}")
    scenario = timeline_of(scenario)
    if scenario is Scenario.FAILURE:
        return FAILED_AT * duration
    if scenario is Scenario.SQUASHED:
        return SQUASHED_AT * duration
    if scenario in (Scenario.STUCK, Scenario.API_ERROR, Scenario.NOT_FOUND):
        return None
    return duration


class Fault(enum.Enum):
    """Something other than a normal answer."""

    UNAVAILABLE = "503"
    BAD_GATEWAY = "502"
    DROP = "dropped connection"
    HTML = "HTML page"
    TRUNCATED = "truncated JSON"
    RATE_LIMITED = "429"
    SLOW = "slow answer"
    API_ERROR = "error body"
    NOT_FOUND = "404"


_FAULT_PLAN: Mapping[Scenario, Mapping[int, Fault]] = {
    Scenario.FLAKY: {
        2: Fault.UNAVAILABLE,
        4: Fault.BAD_GATEWAY,
        6: Fault.DROP,
        8: Fault.HTML,
        10: Fault.TRUNCATED,
    },
    Scenario.RATE_LIMITED: {2: Fault.RATE_LIMITED, 3: Fault.RATE_LIMITED},
    Scenario.SLOW: {2: Fault.SLOW},
}


def fault_for(scenario: Scenario, request_number: int) -> Fault | None:
    """What goes wrong on the ``request_number``-th (1-based) accepted request for a job, if anything."""
    if scenario is Scenario.API_ERROR:
        return Fault.API_ERROR
    if scenario is Scenario.NOT_FOUND:
        return Fault.NOT_FOUND
    return _FAULT_PLAN.get(scenario, {}).get(request_number)


@dataclass(frozen=True)
class Fleet:
    """The machines that install a new image version: how many, how many fail, how many hang."""

    machines: int = FLEET_SIZE
    failing: int = 0
    stuck: int = 0

    def failing_machines(self) -> frozenset[int]:
        """Which machines (by install order) fail: spread over the fleet, never the stuck ones."""
        if self.failing <= 0:
            return frozenset()
        span = self.machines - self.stuck
        return frozenset(min(span - 1, int((j + 0.5) * span / self.failing)) for j in range(self.failing))


def fleet_for(scenario: DeployScenario) -> Fleet:
    if scenario is DeployScenario.MACHINES_FAILED:
        return Fleet(failing=FAILING_MACHINES)
    if scenario is DeployScenario.INSTALL_STUCK:
        return Fleet(stuck=STUCK_MACHINES)
    return Fleet()


def publish_gap(duration: float) -> float:
    """How long after publishing no machine is marked pending yet."""
    return min(PUBLISH_GAP * duration, PUBLISH_GAP_MAX)


def fleet_counts(fleet: Fleet, elapsed: float | None, duration: float) -> tuple[int, int, int]:
    """(pending, failed, completed) machines ``elapsed`` seconds after a version was published.

    ``None`` (nothing published yet) and the first moment after publishing read 0/0/0; then every
    machine is pending and they finish one by one, evenly spread over ``duration``, except the
    stuck ones, which never do.
    """
    if duration <= 0:
        raise ValueError(f"duration must be positive, got {duration!r}")
    gap = publish_gap(duration)
    if elapsed is None or elapsed < gap:
        return (0, 0, 0)
    finished = int((elapsed - gap) / (duration - gap) * fleet.machines + 1e-9)
    finished = max(0, min(finished, fleet.machines - fleet.stuck))
    failed = sum(1 for machine in fleet.failing_machines() if machine < finished)
    return (fleet.machines - finished, failed, finished - failed)
