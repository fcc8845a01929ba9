"""The JSON bodies the simulated API answers with: job status, errors, image status, installs.

Pure functions from a job's phase (or a fleet's counts) to the documented body.
"""

from __future__ import annotations

from typing import Any

from gate.job import State
from gate.sim.scenarios import GAME_ID, BodyShape, DeployScenario, deploy_scenario_for
from gate.sim.timeline import Phase

UNAVAILABLE_BODY = b"Service Unavailable"
BAD_GATEWAY_PAGE = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Maintenance</title></head>"
    b"<body><h1>We'll be right back</h1></body></html>"
)

STATE_NAMES = {
    State.CREATED: "Created",
    State.PENDING: "Pending",
    State.QUEUED: "Queued",
    State.RUNNING: "Running",
    State.COMPLETE: "Complete",
    State.FAILED: "Failed",
    State.SQUASHED: "Squashed",
}


def status_body(update_id: int, phase: Phase, origin: float, id_key: str = "updateid") -> dict[str, object]:
    """The documented status body for ``phase``; ``origin`` is the unix time the job's clock started.

    The job's id is echoed under ``id_key`` (``updateid``, ``diffid`` or ``imageversionid``).
    """

    def at(offset: float) -> int:
        return int(origin + offset)

    return {
        "jobcreated": at(0.0),
        "jobstart": None if phase.started_at is None else str(at(phase.started_at)),
        "jobupdated": at(phase.updated_at),
        "jobeta": None if phase.eta_at is None else at(phase.eta_at),
        "jobprogress": phase.progress,
        "jobstateid": int(phase.state),
        "jobstatename": STATE_NAMES[phase.state],
        "jobfailed": phase.failed,
        "joberror": phase.error,
        "success": True,
        id_key: update_id,
    }


# The fields the documentation marks optional: a body of the required fields only leaves them out.
OPTIONAL_FIELDS = ("jobstateid", "jobstart", "jobeta", "joberror")


def shaped(body: dict[str, object], shape: BodyShape) -> dict[str, object]:
    """``body`` (a full status answer) as ``shape`` has it."""
    if shape is BodyShape.NAME_ONLY:
        return {key: value for key, value in body.items() if key != "jobstateid"}
    if shape is BodyShape.REQUIRED_ONLY:
        return {key: value for key, value in body.items() if key not in OPTIONAL_FIELDS}
    if shape is BodyShape.LOOSE_TYPES:
        start = body.get("jobstart")
        return {
            **body,
            "jobprogress": str(body["jobprogress"]),
            "jobstart": int(start) if isinstance(start, str) else start,
            "jobcreated": float(body["jobcreated"]),  # type: ignore[arg-type]
            "jobfailed": bool(body["jobfailed"]),
            "jobregion": {"name": "sim-eu-1", "machines": [7001, 7002]},
        }
    return body


def error_body(message: str, code: int = 1) -> dict[str, object]:
    """The API's error body."""
    return {
        "messages": [],
        "error_code": code,
        "error_message": message,
        "_debug": [],
        "success": False,
        "error": True,
    }


def fleet_body(counts: tuple[int, int, int]) -> dict[str, object]:
    """The image status body (``/cfp/v2/project/<asid>/image/<imageid>/status``)."""
    pending, failed, completed = counts
    return {"pending_machines": pending, "failed_machines": failed, "completed_machines": completed}


def diff_info(image_id: int, diff_id: int) -> dict[str, Any]:
    """``diff_info`` of a diff's status: the image, game and machine, and (per scenario) the files."""
    info: dict[str, Any] = {"imageid": image_id, "gameid": GAME_ID, "machineid": 1, "diffid": diff_id}
    scenario = deploy_scenario_for(image_id)
    if scenario is DeployScenario.NO_FILE_LIST:
        return info
    changed = [] if scenario is DeployScenario.EMPTY_DIFF else ["bin/server.x86_64", "data/level1.pak"]
    return {**info, "files": {"added": [], "modified": changed, "removed": []}}


def install_job(
    version_id: int, image_id: int, machine: int, start: float, *, running: bool
) -> dict[str, Any]:
    """One unfinished install job of ``/cfp/v1/imageinstall/status``."""
    state = State.RUNNING if running else State.QUEUED
    return {
        "jobid": version_id * 100 + machine,
        "jobcreated": int(start),
        "jobstateid": int(state),
        "jobstatename": STATE_NAMES[state],
        "jobprogress": 0,
        "jobfailed": 0,
        "joberror": None,
        "machine": 7000 + image_id % 1000 * 10 + machine,
        "location": "sim-eu-1",
        "target_imageversionid": version_id,
        "restart": 1,
        "install_at": int(start),
    }
