"""The image endpoints of the deploy: image status, install jobs, image options and diff reject."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from gate.job import State
from gate.kinds import JobKind
from gate.sim.account import Account
from gate.sim.bodies import STATE_NAMES, error_body, fleet_body, install_job
from gate.sim.routing import Request, Response, Route, flag_value, required_id
from gate.sim.scenarios import FLEET_SIZE, FOREIGN_IMAGE_ID, FOREIGN_VERSION_ID, deploy_scenario_for
from gate.sim.timeline import fleet_counts, fleet_for


def image_status(account: Account, request: Request) -> Response:
    """Pending, failed and completed machines of the image's published version."""
    if request.params["asid"] != account.rules.account_service_id:
        return Response.json(403, error_body("forbidden"))
    image_id = int(request.params["imageid"])
    now = account.clock()
    with account.lock:
        version = account.published.get(image_id)
    start = account.install_start(version) if version is not None else None
    elapsed = now - start if start is not None and now >= start else None
    counts = fleet_counts(fleet_for(deploy_scenario_for(image_id)), elapsed, account.rules.duration)
    return Response.json(200, fleet_body(counts))


def install_status(account: Account, request: Request) -> Response:
    """The account's unfinished install jobs: one per machine still to install, any image."""
    now = account.clock()
    with account.lock:
        versions = list(account.published.values())
    installs = [install_job(FOREIGN_VERSION_ID, FOREIGN_IMAGE_ID, 0, now - 3600, running=False)]
    for version in versions:
        start = account.install_start(version)
        if start is None or now < version.origin + account.rules.duration:
            continue
        elapsed = now - start
        counts = fleet_counts(
            fleet_for(deploy_scenario_for(version.image_id)),
            elapsed if elapsed >= 0 else None,
            account.rules.duration,
        )
        marked = counts != (0, 0, 0)
        waiting = counts[0] if marked else FLEET_SIZE
        installs += [
            install_job(version.job_id, version.image_id, machine, start, running=marked)
            for machine in range(FLEET_SIZE - waiting, FLEET_SIZE)
        ]
    return Response.json(200, {"installs": installs, "success": True})


def image_options(account: Account, request: Request) -> Response:
    """The image's options: ``diffid`` or ``updateid`` when one holds the image."""
    game, image = request.query.get("gameid", ""), request.query.get("imageid", "")
    if bool(game) != bool(image):
        return Response.json(400, error_body("gameid and imageid must be given together"))
    if not image:
        return Response.json(200, {"success": True, "update_urls": []})
    image_id = required_id(request.query, "imageid")
    required_id(request.query, "gameid")
    options: dict[str, object] = {
        "success": True,
        "imageid": image_id,
        "gameid": int(game),
        "update_urls": [f"s3://sim-builds/{image_id}/"],
    }
    held = account.lock_of(image_id)
    if held is not None:
        options[held[0]] = held[1]
    return Response.json(200, options)


def reject_diff(account: Account, request: Request) -> Response:
    """Reject a Complete or Failed diff that is not published: it no longer holds its image."""
    diff_id = int(request.params["diffid"])
    flag_value(request.query, "reinstall", required=True)
    now = account.clock()
    with account.lock:
        diff = account.created_jobs[JobKind.IMAGE_DIFF].get(diff_id)
        if diff is None:
            return Response.json(404, error_body("No rows in result set"))
        if diff_id in account.published_diffs:
            return Response.json(200, error_body(f"diff {diff_id} was published: it cannot be rejected"))
        if diff_id in account.rejected_diffs:
            return Response.json(200, error_body(f"diff {diff_id} was already rejected"))
        state = account.phase(diff, now).state
        if state not in (State.COMPLETE, State.FAILED):
            message = (
                f"diff {diff_id} is {STATE_NAMES[state]}: only a Complete or Failed diff can be rejected"
            )
            return Response.json(200, error_body(message))
        account.rejected_diffs.add(diff_id)
        account.release_lock_locked(diff.image_id, diff_id)
    return Response.json(200, {"success": True, "diffid": diff_id})


AccountHandler = Callable[[Account, Request], Response]

_ROUTES: tuple[tuple[str, AccountHandler, str], ...] = (
    (r"/cfp/v2/project/(?P<asid>[^/]+)/image/(?P<imageid>\d+)/status", image_status, "image/status"),
    (r"/cfp/v1/imagediff/(?P<diffid>\d+)/reject", reject_diff, "imagediff/reject"),
    (r"/cfp/v1/image/options", image_options, "image/options"),
    (r"/cfp/v1/imageinstall/status", install_status, "imageinstall/status"),
)


def image_routes(account: Account) -> list[Route]:
    """The image status, install status, image options and diff reject routes."""
    return [Route.of("GET", pattern, partial(handler, account), name) for pattern, handler, name in _ROUTES]
