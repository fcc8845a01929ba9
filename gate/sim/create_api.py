"""The create calls of the deploy: image update, image diff and image version (``/cfp/v1/<kind>/create``)."""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

from gate.job import State
from gate.kinds import JobKind
from gate.sim.account import Account
from gate.sim.bodies import STATE_NAMES, UNAVAILABLE_BODY, error_body
from gate.sim.routing import MissingParameter, Request, Response, Route, flag_value, required_id
from gate.sim.scenarios import (
    DIFF_FAILURE_MESSAGE,
    EMPTY_DIFF_MESSAGE,
    DeployScenario,
    Scenario,
    deploy_scenario_for,
)

NOT_FOUND = Response.json(404, error_body("No rows in result set"))


def locked_answer(
    account: Account, image_id: int, *, diff: bool = False, retry: int | None = None
) -> Response | None:
    """The API's 'image locked' answer, if the image is held by a job this create cannot follow.

    An update create needs a free image; a diff create may follow a Complete update (the diff
    is made from it) or retry the diff that holds the image. The caller holds the account's lock.
    """
    held = account.held_by_locked(image_id)
    if held is None or (diff and held == ("diffid", retry)):
        return None
    if diff and held[0] == "updateid" and account.update_done_locked(held[1]):
        return None
    return Response.json(200, error_body(f"image locked by {held[0]}: {held[1]}"))


def create_update(account: Account, request: Request) -> Response:
    image_id = required_id(request.query, "imageid")
    required_id(request.query, "machineid")
    if not request.query.get("desc", "").strip():
        raise MissingParameter("missing required parameter: desc")
    scenario = deploy_scenario_for(image_id)
    with account.lock:
        locked = locked_answer(account, image_id)
        if locked is not None:
            return locked
        job = account.start_locked(JobKind.IMAGE_UPDATE, image_id)
        account.take_lock_locked(job)
        lost = scenario in (DeployScenario.CREATE_UNAVAILABLE, DeployScenario.CREATE_ANSWER_LOST)
        if lost and image_id not in account.unavailable_served:
            # The job has started, but its answer never arrives: why a create is never retried.
            account.unavailable_served.add(image_id)
            if scenario is DeployScenario.CREATE_ANSWER_LOST:
                return Response(0, drop=True)
            return Response(503, UNAVAILABLE_BODY, content_type="text/plain")
    return Response.json(200, account.created_body(job, account.clock()))


def create_diff(account: Account, request: Request) -> Response:
    image_id = required_id(request.query, "imageid")
    required_id(request.query, "machineid")
    retry = required_id(request.query, "diffid") if request.query.get("diffid") else None
    failing = deploy_scenario_for(image_id) is DeployScenario.DIFF_FAILED
    details: dict[str, Any] = {"scenario": Scenario.FAILURE, "error": DIFF_FAILURE_MESSAGE} if failing else {}
    with account.lock:
        diffs = account.created_jobs[JobKind.IMAGE_DIFF]
        earlier = diffs.get(retry) if retry is not None else None
        if retry is not None and (earlier is None or earlier.image_id != image_id):
            return NOT_FOUND
        locked = locked_answer(account, image_id, diff=True, retry=retry)
        if locked is not None:
            return locked
        if earlier is not None:
            # A retry runs the same diff again, under its own id.
            job = dataclasses.replace(earlier, origin=account.clock())
            diffs[job.job_id] = job
        else:
            job = account.start_locked(JobKind.IMAGE_DIFF, image_id, **details)
        account.take_lock_locked(job)
    return Response.json(200, account.created_body(job, account.clock()))


def _version_options(request: Request) -> tuple[int, bool, float | None]:
    """The diff id, the full flag and install_at of a version create; ``MissingParameter`` if malformed."""
    diff_id = required_id(request.query, "diffid")
    flag_value(request.query, "restart", required=True)
    full = bool(flag_value(request.query, "full"))
    flag_value(request.query, "force")
    install_at = float(required_id(request.query, "install_at")) if "install_at" in request.query else None
    for name in ("disable_timeout", "disable_percentage"):
        if name in request.query and not request.query[name].strip().isdigit():
            raise MissingParameter(f"parameter {name} must be a whole number, got {request.query[name]!r}")
    return diff_id, full, install_at


def create_version(account: Account, request: Request) -> Response:
    diff_id, full, install_at = _version_options(request)
    now = account.clock()
    with account.lock:
        diff = account.created_jobs[JobKind.IMAGE_DIFF].get(diff_id)
        if diff is None:
            return NOT_FOUND
        if diff_id in account.rejected_diffs:
            return Response.json(200, error_body(f"diff {diff_id} was rejected: it cannot be published"))
        state = account.phase(diff, now).state
        empty = deploy_scenario_for(diff.image_id) is DeployScenario.EMPTY_DIFF
        if state is State.COMPLETE and not full and empty:
            return Response.json(200, error_body(EMPTY_DIFF_MESSAGE))
        if state is not State.COMPLETE:
            message = f"diff {diff_id} is {STATE_NAMES[state]}, not Complete: it cannot be published"
            return Response.json(400, error_body(message))
        job = account.start_locked(
            JobKind.IMAGE_VERSION, diff.image_id, diff_id=diff_id, install_at=install_at, full=full
        )
        account.published[diff.image_id] = job
        account.published_diffs.add(diff_id)
        account.release_lock_locked(diff.image_id, diff_id)
    return Response.json(200, account.created_body(job, now))


def create_routes(account: Account) -> list[Route]:
    """The create route of each job kind."""
    handlers = {
        JobKind.IMAGE_UPDATE: create_update,
        JobKind.IMAGE_DIFF: create_diff,
        JobKind.IMAGE_VERSION: create_version,
    }
    return [
        Route.of("GET", kind.create_path(), partial(handler, account), f"{kind.value}/create")
        for kind, handler in handlers.items()
    ]
