"""The outcome of a run, as a value (``gate.report.result_file`` writes it as JSON)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gate.ending import ExitCode, Outcome, exit_code
from gate.kinds import JobKind

# The exit codes of each outcome, from the one mapping in gate.ending.
EXIT_CODES: dict[Outcome, int] = {o: int(exit_code(o)) for o in Outcome if o is not Outcome.CANCELLED}
EXIT_SIGINT = int(ExitCode.SIGINT)
EXIT_SIGTERM = int(ExitCode.SIGTERM)


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


@dataclass(frozen=True)
class Result:
    """What happened to a run, for people and for pipelines.

    With one job, the top-level fields are that job's; with several, ``update_id`` and the state
    fields are None and ``jobs`` holds each one.
    """

    update_id: int | None
    outcome: Outcome
    exit_code: int
    message: str
    state_id: int | None = None
    state_name: str | None = None
    progress: int | None = None
    job_error: str | None = None
    eta: int | None = None
    polls: int = 0
    elapsed_seconds: float = 0.0
    warnings: tuple[str, ...] = ()
    job_kind: str = JobKind.IMAGE_UPDATE.value
    jobs: tuple[JobResult, ...] = ()
    calls: tuple[Call, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcome"] = self.outcome.value
        data["warnings"] = list(self.warnings)
        data["elapsed_seconds"] = round(self.elapsed_seconds, 3)
        data["calls"] = [asdict(call) for call in self.calls]
        data["jobs"] = [
            {
                **asdict(job),
                "kind": str(job.kind),
                "outcome": job.outcome.value,
                "elapsed_seconds": round(job.elapsed_seconds, 3),
            }
            for job in self.jobs
        ]
        return data
