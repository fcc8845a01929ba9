"""The outcome of a run, as a value (``gate.report.result_file`` writes it as JSON)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Generic, TypeVar, cast

from gate.ending import Outcome, exit_code
from gate.kinds import JobKind, RunCommand, RunKind, run_kind

T = TypeVar("T")


@dataclass(frozen=True)
class JobResult:
    """What happened to one job of a run."""

    kind: JobKind
    job_id: int
    outcome: Outcome
    message: str
    state_id: int | None = None
    state_name: str | None = None
    progress: int | None = None
    job_error: str | None = None
    eta: int | None = None
    polls: int = 0
    elapsed_seconds: float = 0.0

    def __post_init__(self) -> None:
        # A kind given by its API name (``"imagediff"``) is the same kind; it serialises as that
        # name. A name the gate does not know (a hand-made result) is kept as given.
        object.__setattr__(self, "kind", JobKind.known(self.kind))

    @property
    def label(self) -> str:
        if isinstance(self.kind, JobKind):
            return self.kind.label(self.job_id)
        return f"{self.kind} {self.job_id}"


@dataclass(frozen=True)
class Call:
    """A state-changing call a run sent (once, never retried) and the answer it got."""

    request: str
    answer: str


class _OneJobFact(Generic[T]):
    """A fact of a run's one job, read as the run's own; None when the run has no single job."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, run: Result | None, owner: type | None = None) -> T | None:
        job = run.single_job if run is not None else None
        return None if job is None else cast("T | None", getattr(job, self.name))


@dataclass(frozen=True)
class Result:
    """What happened to a run, for people and for pipelines.

    The fields are the run's own facts. A run on one job (its ``update_id`` names that job) also
    reports the job's state, progress, error and ETA at the top level; with several jobs, or none,
    those are None and ``jobs`` holds each one. The exit code is not a field: ``gate.ending``
    gives it from the outcome (and, for a cancelled run, the ``signum`` that cancelled it).
    """

    update_id: int | None
    outcome: Outcome
    message: str
    # The run's state in a word, where the run has one of its own ("ready", "nothing changed");
    # else the one job's state name.
    state_name: str | None = None
    polls: int = 0
    elapsed_seconds: float = 0.0
    warnings: tuple[str, ...] = ()
    job_kind: RunKind = JobKind.IMAGE_UPDATE
    jobs: tuple[JobResult, ...] = ()
    calls: tuple[Call, ...] = ()
    signum: int | None = None

    # The one job's facts, read through the run (None with several jobs or none).
    state_id = _OneJobFact[int]()
    progress = _OneJobFact[int]()
    job_error = _OneJobFact[str]()
    eta = _OneJobFact[int]()

    def __post_init__(self) -> None:
        # A kind given by its name (``"deploy"``, ``"imagediff"``) is that kind, as for a job.
        object.__setattr__(self, "job_kind", run_kind(self.job_kind))

    @property
    def exit_code(self) -> int:
        """The run's exit code, as ``gate.ending`` maps its outcome."""
        return int(exit_code(self.outcome, self.signum))

    @property
    def is_deploy(self) -> bool:
        """Whether the run is a deploy (its jobs are the steps of one chain)."""
        return self.job_kind is RunCommand.DEPLOY

    @property
    def single_job(self) -> JobResult | None:
        """The run's one job, when it ran on exactly one and ``update_id`` names it."""
        if len(self.jobs) == 1 and self.update_id is not None and self.jobs[0].job_id == self.update_id:
            return self.jobs[0]
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "update_id": self.update_id,
            "outcome": self.outcome.value,
            "exit_code": self.exit_code,
            "message": self.message,
            "state_id": self.state_id,
            "state_name": self.state_name,
            "progress": self.progress,
            "job_error": self.job_error,
            "eta": self.eta,
            "polls": self.polls,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "warnings": list(self.warnings),
            "job_kind": str(self.job_kind),
            "jobs": [
                {
                    **asdict(job),
                    "kind": str(job.kind),
                    "outcome": job.outcome.value,
                    "elapsed_seconds": round(job.elapsed_seconds, 3),
                }
                for job in self.jobs
            ],
            "calls": [asdict(call) for call in self.calls],
        }
