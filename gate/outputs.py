"""What the CI outputs say about a run's jobs, shared by the GitHub, GitLab and JUnit reports.

Pure functions of a ``Result``: the id of each job kind, and each job in a compact form.
"""

from __future__ import annotations

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
