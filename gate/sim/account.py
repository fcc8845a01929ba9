"""The simulated account: its jobs, their plans and clocks, image locks, published versions, counts.

One ``Account`` is shared by every API handler of a simulator; its ``lock`` guards all of it.
Methods whose names end in ``_locked`` expect the caller to hold the lock (a handler that reads
and changes the account in one step); the others take it themselves.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gate.kinds import WAITABLE, JobKind
from gate.sim.bodies import shaped, status_body
from gate.sim.scenarios import (
    IMAGE_BY_DEPLOY_SCENARIO,
    LOCKED_DIFF_ID,
    LOCKING_UPDATE_ID,
    UNMARKED_SECONDS,
    DeployScenario,
    Scenario,
    deploy_scenario_for,
    shape_of,
)
from gate.sim.timeline import Phase, job_phase

# The kinds of job the simulated API creates and reports on.
JOB_KINDS: tuple[JobKind, ...] = WAITABLE
# Jobs created through the simulator get ids from these, counting up, one range per kind.
FIRST_CREATED_ID: Mapping[JobKind, int] = {
    JobKind.IMAGE_UPDATE: 30001,
    JobKind.IMAGE_DIFF: 40001,
    JobKind.IMAGE_VERSION: 50001,
}
SEEDED_IDS = frozenset({LOCKED_DIFF_ID, LOCKING_UPDATE_ID})


@dataclass
class JobClock:
    """A status-only job: when its clock started and how many status requests it has had."""

    origin: float
    requests: int = 0


@dataclass(frozen=True)
class JobPlan:
    """A job that does not follow the simulator's defaults (see ``Simulator.plan_job``)."""

    scenario: Scenario | None = None
    duration: float | None = None
    origin: float | None = None


@dataclass
class CreatedJob:
    """A job started by a create call: it walks from its creation, in its own scenario."""

    kind: str
    job_id: int
    image_id: int
    origin: float
    scenario: Scenario = Scenario.SUCCESS
    error: str | None = None
    diff_id: int | None = None
    # A version's install_at (unix time); None: left out, so the install is manual and never starts.
    install_at: float | None = None
    full: bool = False


@dataclass(frozen=True)
class AccountRules:
    """What every job of the simulated account follows unless a plan says otherwise; fixed when
    the simulator starts."""

    # How long a job takes, in seconds.
    duration: float
    # The scenario of an id that is in no table and has no plan.
    default_scenario: Scenario
    # The account service id requests must name.
    account_service_id: str
    # How long the answer of the slow scenario is held back, in seconds.
    slow_seconds: float


class Account:
    """Everything the simulated account remembers; ``rules`` are what every job follows."""

    def __init__(self, rules: AccountRules, clock: Callable[[], float]) -> None:
        self.rules = rules
        self.clock = clock
        self.lock = threading.Lock()
        self.plans: dict[tuple[str, int], JobPlan] = {}
        self._clear()

    def _clear(self) -> None:
        self.jobs: dict[tuple[str, int], JobClock] = {}
        self.counts: dict[int, int] = {}
        self.endpoint_counts: dict[str, int] = {}
        self.created_jobs: dict[str, dict[int, CreatedJob]] = {kind: {} for kind in JOB_KINDS}
        self.next_id: dict[str, int] = {kind.value: first for kind, first in FIRST_CREATED_ID.items()}
        self.published: dict[int, CreatedJob] = {}
        self.unavailable_served: set[int] = set()
        self.published_diffs: set[int] = set()
        self.rejected_diffs: set[int] = set()
        self._seed_locks()

    def _seed_locks(self) -> None:
        """The complete, unpublished diff that locks the image of the image-locked scenario."""
        image = IMAGE_BY_DEPLOY_SCENARIO[DeployScenario.IMAGE_LOCKED]
        origin = self.clock() - 2 * self.rules.duration
        self.created_jobs[JobKind.IMAGE_DIFF][LOCKED_DIFF_ID] = CreatedJob(
            JobKind.IMAGE_DIFF, LOCKED_DIFF_ID, image, origin
        )
        # The update that holds the image of the update-locked scenario: it runs for ever.
        held = IMAGE_BY_DEPLOY_SCENARIO[DeployScenario.UPDATE_LOCKED]
        self.created_jobs[JobKind.IMAGE_UPDATE][LOCKING_UPDATE_ID] = CreatedJob(
            JobKind.IMAGE_UPDATE, LOCKING_UPDATE_ID, held, origin, scenario=Scenario.STUCK
        )

    def reset(self) -> None:
        """Forget all jobs and counts; plans stay (a planned origin stays where it was)."""
        with self.lock:
            self._clear()

    # -- counting

    def count_request(self, job_id: int) -> None:
        with self.lock:
            self.counts[job_id] = self.counts.get(job_id, 0) + 1

    def count_endpoint(self, name: str) -> None:
        with self.lock:
            self.endpoint_counts[name] = self.endpoint_counts.get(name, 0) + 1

    def request_count(self, job_id: int) -> int:
        with self.lock:
            return self.counts.get(job_id, 0)

    def endpoint_count(self, name: str) -> int:
        with self.lock:
            return self.endpoint_counts.get(name, 0)

    def created(self, kind: str) -> list[int]:
        with self.lock:
            return [job_id for job_id in self.created_jobs[kind] if job_id not in SEEDED_IDS]

    def rejected(self) -> list[int]:
        with self.lock:
            return sorted(self.rejected_diffs)

    def stats(self) -> dict[str, object]:
        """Requests per job id and per endpoint, create calls and the jobs they started."""
        with self.lock:
            counts = {str(key): value for key, value in sorted(self.counts.items())}
            endpoints = dict(sorted(self.endpoint_counts.items()))
            created = {
                kind: [job_id for job_id in jobs if job_id not in SEEDED_IDS]
                for kind, jobs in self.created_jobs.items()
            }
            rejected = sorted(self.rejected_diffs)
        return {
            "rejects": endpoints.get("imagediff/reject", 0),
            "rejected": rejected,
            "requests": counts,
            "total": sum(counts.values()),
            "endpoints": endpoints,
            "creates": {kind: endpoints.get(f"{kind}/create", 0) for kind in JOB_KINDS},
            "created": created,
        }

    # -- jobs

    def plan(self, kind: str, job_id: int, plan: JobPlan) -> None:
        if kind not in JOB_KINDS:
            raise ValueError(f"unknown job kind {kind!r}; choose one of {', '.join(JOB_KINDS)}")
        if plan.duration is not None and plan.duration <= 0:
            raise ValueError(f"duration must be positive, got {plan.duration!r}")
        with self.lock:
            self.plans[(kind, job_id)] = plan

    def created_job(self, kind: str, job_id: int) -> CreatedJob | None:
        with self.lock:
            return self.created_jobs[kind].get(job_id)

    def status_request(self, kind: str, job_id: int, now: float) -> tuple[JobPlan, JobClock, int]:
        """Count one status request of a status-only job (its clock starts on the first one).

        Returns the job's plan, its clock and the request's number (1-based).
        """
        with self.lock:
            plan = self.plans.get((kind, job_id), JobPlan())
            origin = plan.origin if plan.origin is not None else now
            job = self.jobs.setdefault((kind, job_id), JobClock(origin=origin))
            job.requests += 1
            return plan, job, job.requests

    def start_locked(self, kind: str, image_id: int, **details: Any) -> CreatedJob:
        """Start a job of ``kind`` now, under a new id."""
        job_id = self.next_id[kind]
        self.next_id[kind] = job_id + 1
        job = CreatedJob(kind, job_id, image_id, self.clock(), **details)
        self.created_jobs[kind][job_id] = job
        return job

    def phase(self, job: CreatedJob, now: float) -> Phase:
        phase = job_phase(job.scenario, now - job.origin, self.rules.duration)
        if phase.error is not None and job.error is not None:
            phase = dataclasses.replace(phase, error=job.error)
        return phase

    def created_body(self, job: CreatedJob, now: float) -> dict[str, object]:
        # Created jobs answer in the body shape of the account's scenario: a deploy can be
        # rehearsed against answers without jobstateid, or with only the required fields.
        body = status_body(job.job_id, self.phase(job, now), job.origin, JobKind.of(job.kind).id_field)
        return shaped(body, shape_of(self.rules.default_scenario))

    # -- images

    def lock_of(self, image_id: int) -> tuple[str, int] | None:
        with self.lock:
            return self.held_by_locked(image_id)

    def held_by_locked(self, image_id: int) -> tuple[str, int] | None:
        """What holds the image (``("diffid", n)`` or ``("updateid", n)``), or None."""
        if deploy_scenario_for(image_id) is DeployScenario.UPDATE_LOCKED:
            return ("updateid", LOCKING_UPDATE_ID)
        settled = self.published_diffs | self.rejected_diffs
        for diff in reversed(list(self.created_jobs[JobKind.IMAGE_DIFF].values())):
            if diff.image_id == image_id and diff.job_id not in settled:
                return ("diffid", diff.job_id)
        return None

    def install_start(self, version: CreatedJob) -> float | None:
        """When a version's machines start installing; None when it never does (no install_at)."""
        scenario = deploy_scenario_for(version.image_id)
        if version.install_at is None or scenario is DeployScenario.INSTALL_NEVER_STARTS:
            return None
        # The machines install once the version job has completed, and not before install_at.
        start = max(version.origin + self.rules.duration, version.install_at)
        return start + (UNMARKED_SECONDS if scenario is DeployScenario.FLEET_UNMARKED else 0.0)
