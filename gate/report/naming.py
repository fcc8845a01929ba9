"""How the outputs name a run and list its jobs, shared by every report.

Pure functions of a ``Result``. A job is always named by ``JobKind.label`` (``image diff 22``,
``image 5 install``); a run by ``run_name``; the ids and the job list come from here too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from gate.ending import Outcome
from gate.kinds import WAITABLE, JobKind, RunKind
from gate.result import Result


def job_kind(kind: RunKind | str) -> JobKind | None:
    """The job kind a result names, or None for a run's own kind (``deploy``, ``check``) and for a
    name the gate does not know (kept as given in a hand-made result)."""
    return kind if isinstance(kind, JobKind) else None


def job_label(kind: JobKind | str, job_id: int | None) -> str:
    """A job as every output names it, ``JobKind.label``: ``image diff 22``, ``image 5 install``.

    A kind that is no ``JobKind`` (none should reach a report) is shown as it is, not raised on:
    a report that fails at the end of a run would lose the run's outcome.
    """
    known = job_kind(kind)
    if known is None:
        return str(kind) if job_id is None else f"{kind} {job_id}"
    return known.label(job_id)


def job_ids(result: Result, created: Mapping[JobKind, int] | None = None) -> dict[JobKind, int]:
    """The id of each job kind the run had exactly one of (a deploy has at most one of each).

    ``created`` holds ids announced while the run went on; they count even when the run was cut
    short before it could wait on the job. A kind with several jobs (a wait on several updates)
    has no single id: the per-job outputs name them all.
    """
    ids: dict[JobKind, int] = {}
    ids.update(created or {})
    for kind in WAITABLE:
        of_kind = {job.job_id for job in result.jobs if job_kind(job.kind) is kind}
        if len(of_kind) == 1:
            ids[kind] = of_kind.pop()
        elif of_kind:
            ids.pop(kind, None)
        elif not result.jobs and result.update_id is not None and job_kind(result.job_kind) is kind:
            ids[kind] = result.update_id
    return {kind: ids[kind] for kind in WAITABLE if kind in ids}


def run_name(result: Result) -> str:
    """How a whole run is named: its one job (``image diff 22``), ``deploy``, or ``wait on 3 image
    updates``."""
    own = job_kind(result.job_kind)
    if own is None:
        return str(result.job_kind)
    if len(result.jobs) > 1:
        kinds = {job_kind(job.kind) for job in result.jobs}
        one = kinds.pop() if len(kinds) == 1 else None
        counted = (
            one.labels([job.job_id for job in result.jobs]) if one is not None else f"{len(result.jobs)} jobs"
        )
        return f"wait on {counted}"
    if len(result.jobs) == 1:
        job = result.jobs[0]
        return job_label(job.kind, job.job_id)
    return own.label(result.update_id)


# How many ids a heading lists before it counts the rest.
HEADER_IDS = 5


def waiting_header(kind: JobKind, job_ids: Sequence[int]) -> str:
    """The heading over a run's progress log in a CI log (a GitHub group, a GitLab section).

    One job is named as everywhere else (``image diff 22``); several are counted, with their first
    ids (a wait may be on up to a thousand).
    """
    if len(job_ids) <= 1:
        return f"Waiting for Clanforge {kind.label(job_ids[0] if job_ids else None)}"
    shown = ", ".join(str(job_id) for job_id in job_ids[:HEADER_IDS])
    more = f" and {len(job_ids) - HEADER_IDS} more" if len(job_ids) > HEADER_IDS else ""
    return f"Waiting for Clanforge {kind.labels(job_ids)}: {shown}{more}"


def per_job(result: Result) -> bool:
    """Whether the run is reported job by job (several jobs, or a deploy) rather than as one."""
    return len(result.jobs) > 1 or result.is_deploy


def job_records(result: Result) -> list[dict[str, object]]:
    """Each job of the run as a small mapping: kind, id, outcome, state, progress, job error."""
    return [
        {
            "kind": str(job.kind),
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
    return ",".join(f"{job.kind!s}:{job.job_id}={job.outcome.value}" for job in result.jobs)


def failure_outside_jobs(result: Result) -> bool:
    """Whether the run did not succeed although none of its jobs says so: a configuration error,
    or a deploy stopped between two jobs (a create that got no clear answer, a locked image)."""
    return result.outcome is not Outcome.SUCCEEDED and all(
        job.outcome is Outcome.SUCCEEDED for job in result.jobs
    )
