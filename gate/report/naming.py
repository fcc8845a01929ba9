"""What the CI outputs say about a run's jobs, shared by the GitHub, GitLab and JUnit reports.

Pure functions of a ``Result``: the id of each job kind, how jobs and runs are named, and each
job in a compact form.
"""

from __future__ import annotations

import json

from gate.ending import Outcome
from gate.result import Result

# The kinds of job a deploy creates, in the order it creates them.
ID_KINDS = ("imageupdate", "imagediff", "imageversion")


def job_ids(result: Result, created: dict[str, int] | None = None) -> dict[str, int]:
    """The id of each job kind the run had exactly one of (a deploy has at most one of each).

    ``created`` holds ids announced while the run went on; they count even when the run was cut
    short before it could wait on the job. A kind with several jobs (a wait on several updates)
    has no single id: the per-job outputs name them all.
    """
    ids: dict[str, int] = dict(created or {})
    for kind in ID_KINDS:
        of_kind = {job.job_id for job in result.jobs if job.kind == kind}
        if len(of_kind) == 1:
            ids[kind] = of_kind.pop()
        elif of_kind:
            ids.pop(kind, None)
        elif not result.jobs and result.update_id is not None and result.job_kind == kind:
            ids[kind] = result.update_id
    return {kind: ids[kind] for kind in ID_KINDS if kind in ids}


_KIND_NAMES = {
    "imageupdate": "image update",
    "imagediff": "image diff",
    "imageversion": "image version",
    "deploy": "deploy",
}
INSTALL_KIND = "imageinstall"


def job_name(kind: str, job_id: int | None) -> str:
    """How a job is named in reports: ``image update 11``, ``image diff 22``, ``image 5 install``."""
    if kind == INSTALL_KIND:
        return "fleet install" if job_id is None else f"image {job_id} install"
    name = _KIND_NAMES.get(kind, kind)
    return name if job_id is None else f"{name} {job_id}"


def run_name(result: Result) -> str:
    """How a whole run is named: its one job, ``deploy``, or ``wait on 3 image updates``."""
    if result.job_kind == "deploy":
        return "deploy"
    if len(result.jobs) > 1:
        kinds = {job.kind for job in result.jobs}
        noun = _KIND_NAMES.get(kinds.pop(), "job") if len(kinds) == 1 else "job"
        return f"wait on {len(result.jobs)} {noun}s"
    if len(result.jobs) == 1:
        return job_name(result.jobs[0].kind, result.jobs[0].job_id)
    return job_name(result.job_kind, result.update_id)


def per_job(result: Result) -> bool:
    """Whether the run is reported job by job (several jobs, or a deploy) rather than as one."""
    return len(result.jobs) > 1 or result.job_kind == "deploy"


def job_records(result: Result) -> list[dict[str, object]]:
    """Each job of the run as a small mapping: kind, id, outcome, state, progress, job error."""
    return [
        {
            "kind": job.kind,
            "id": job.job_id,
            "outcome": job.outcome.value,
            "state": job.state_name,
            "progress": job.progress,
            "job_error": job.job_error,
        }
        for job in result.jobs
    ]


def jobs_json(result: Result) -> str:
    """The jobs as compact JSON on one line (``[]`` when none was started)."""
    return json.dumps(job_records(result), separators=(",", ":"), ensure_ascii=False)


def jobs_line(result: Result) -> str:
    """The jobs as ``kind:id=outcome`` items joined by commas, for a shell to split."""
    return ",".join(f"{job.kind}:{job.job_id}={job.outcome.value}" for job in result.jobs)


def failure_outside_jobs(result: Result) -> bool:
    """Whether the run did not succeed although none of its jobs says so: a configuration error,
    or a deploy stopped between two jobs (a create that got no clear answer, a locked image)."""
    return result.outcome is not Outcome.SUCCEEDED and all(
        job.outcome is Outcome.SUCCEEDED for job in result.jobs
    )
