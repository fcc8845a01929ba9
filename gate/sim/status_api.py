"""The job status endpoints (``/cfp/v1/<kind>/<id>/status``), with each scenario's faults."""

from __future__ import annotations

import json
from collections.abc import Mapping

from gate.kinds import JobKind
from gate.sim.account import JOB_KINDS, Account
from gate.sim.bodies import (
    BAD_GATEWAY_PAGE,
    HTML_PAGE,
    UNAVAILABLE_BODY,
    diff_info,
    error_body,
    shaped,
    status_body,
)
from gate.sim.routing import Handler, Request, Response, Route
from gate.sim.scenarios import API_ERROR_MESSAGE, scenario_for, shape_of
from gate.sim.timeline import Fault, fault_for, job_phase

RETRY_AFTER_SECONDS = 1

# The faults that replace the answer outright, whatever the job's state.
_FAULT_ANSWERS: Mapping[Fault, Response] = {
    Fault.API_ERROR: Response.json(200, error_body(API_ERROR_MESSAGE)),
    Fault.NOT_FOUND: Response.json(404, error_body("No rows in result set")),
    Fault.UNAVAILABLE: Response(503, UNAVAILABLE_BODY, content_type="text/plain"),
    Fault.BAD_GATEWAY: Response(502, BAD_GATEWAY_PAGE, content_type="text/html"),
    Fault.DROP: Response(0, drop=True),
    Fault.HTML: Response(200, HTML_PAGE, content_type="text/html"),
    Fault.RATE_LIMITED: Response.json(
        429, error_body("rate limit exceeded"), headers=(("Retry-After", str(RETRY_AFTER_SECONDS)),)
    ),
}


def job_status(account: Account, kind: str, job_id: int) -> Response:
    """The status of a job: a created one walks from its creation, any other from its first request."""
    now = account.clock()
    created = account.created_job(kind, job_id)
    if created is not None:
        return Response.json(200, account.created_body(created, now))
    plan, job, number = account.status_request(kind, job_id, now)
    scenario = (
        plan.scenario if plan.scenario is not None else scenario_for(job_id, account.rules.default_scenario)
    )
    duration = plan.duration if plan.duration is not None else account.rules.duration
    fault = fault_for(scenario, number)
    answer = _FAULT_ANSWERS.get(fault) if fault is not None else None
    if answer is not None:
        return answer
    phase = job_phase(scenario, now - job.origin, duration)
    full = status_body(job_id, phase, job.origin, JobKind.of(kind).id_field)
    body = json.dumps(shaped(full, shape_of(scenario)))
    if fault is Fault.TRUNCATED:
        return Response(200, body[: len(body) // 2].encode())
    if fault is Fault.SLOW:
        return Response(200, body.encode(), delay=account.rules.slow_seconds)
    return Response(200, body.encode())


def _status_handler(account: Account, kind: str) -> Handler:
    def handler(request: Request) -> Response:
        job_id = int(request.params[JobKind.of(kind).id_field])
        if kind == JobKind.IMAGE_DIFF and request.query.get("diff_info") == "1":
            diff = account.created_job(JobKind.IMAGE_DIFF, job_id)
            if diff is not None:
                body = account.created_body(diff, account.clock())
                return Response.json(200, {**body, "diff_info": diff_info(diff.image_id, diff.job_id)})
        return job_status(account, kind, job_id)

    return handler


def status_routes(account: Account) -> list[Route]:
    """The status route of each job kind."""
    return [
        Route.of(
            "GET",
            rf"/cfp/v1/{kind.value}/(?P<{kind.id_field}>\d+)/status",
            _status_handler(account, kind),
            f"{kind.value}/status",
        )
        for kind in JOB_KINDS
    ]
