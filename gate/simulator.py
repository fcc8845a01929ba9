"""A local stand-in for the Clanforge job API, for demos, pipeline rehearsals and end-to-end tests.

Two layers:

* a pure core: ``job_phase`` (where a scenario's job stands after some elapsed time),
  ``status_body`` (the documented JSON for it) and ``fault_for`` (what goes wrong on the n-th
  request), all free of I/O and of the clock;
* a thin shell: ``Simulator``, a standard-library ``ThreadingHTTPServer`` that checks
  credentials as the API does, starts a job's clock on the first request for its id, and counts
  requests per id.

Each scenario lives on a well-known update id (``SCENARIOS``); any other id follows the default
scenario. Routes are a table of ``Route`` values so more endpoints can be added with
``Simulator.add_route``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import hmac
import ipaddress
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gate.job import State

# --------------------------------------------------------------------------- scenarios


class Scenario(str, enum.Enum):
    """What the simulated job (or the network in front of it) does."""

    SUCCESS = "success"
    FAILURE = "failure"
    SQUASHED = "squashed"
    STUCK = "stuck"
    FLAKY = "flaky"
    RATE_LIMITED = "rate-limited"
    SLOW = "slow"
    API_ERROR = "api-error"
    NOT_FOUND = "not-found"
    NO_ETA = "no-eta"


@dataclass(frozen=True)
class ScenarioSpec:
    """One row of the scenario table: the scenario, its well-known update id, what the gate does."""

    scenario: Scenario
    update_id: int
    gate_exit: int
    summary: str


SCENARIOS: tuple[ScenarioSpec, ...] = (
    ScenarioSpec(
        Scenario.SUCCESS, 1001, 0, "Created, Queued, Running with moving progress and ETA, Complete"
    ),
    ScenarioSpec(
        Scenario.FAILURE, 1002, 1, "runs, then Failed (state 6) at 70% of the duration, with joberror"
    ),
    ScenarioSpec(Scenario.SQUASHED, 1003, 1, "runs, then Squashed (state 7) halfway through"),
    ScenarioSpec(Scenario.STUCK, 1004, 2, "stalls in Running at half time; its ETA slides into the past"),
    ScenarioSpec(
        Scenario.FLAKY,
        1005,
        0,
        "requests 2, 4, 6, 8, 10 get 503, 502, a dropped connection, an HTML page, truncated JSON",
    ),
    ScenarioSpec(Scenario.RATE_LIMITED, 1006, 0, "requests 2 and 3 get 429 with Retry-After: 1"),
    ScenarioSpec(Scenario.SLOW, 1007, 0, "request 2 is answered only after the slow delay (default 15s)"),
    ScenarioSpec(Scenario.API_ERROR, 1008, 3, "HTTP 200 with error: true and an error_message"),
    ScenarioSpec(Scenario.NOT_FOUND, 1009, 3, 'HTTP 404 with "No rows in result set"'),
    ScenarioSpec(Scenario.NO_ETA, 1010, 0, "like success, but jobeta is always null and jobprogress stays 0"),
)

SCENARIO_BY_ID: Mapping[int, Scenario] = {spec.update_id: spec.scenario for spec in SCENARIOS}
ID_BY_SCENARIO: Mapping[Scenario, int] = {spec.scenario: spec.update_id for spec in SCENARIOS}

DEFAULT_DURATION = 12.0
DEFAULT_SLOW_SECONDS = 15.0
RETRY_AFTER_SECONDS = 1

# Fractions of the duration at which the job changes state.
QUEUED_AT = 0.08
RUNNING_AT = 0.2
FAILED_AT = 0.7
SQUASHED_AT = 0.5
STALLED_AT = 0.5
# A fresh estimate is this much too pessimistic; it converges as the job runs.
ETA_OVERESTIMATE = 0.25

FAILURE_MESSAGE = "download of s3://demo-builds/game-server.zip failed: access denied"
SQUASHED_MESSAGE = "superseded by a newer image update for the same image"
API_ERROR_MESSAGE = "image locked by diffid: 218595"


def scenario_for(update_id: int, default: Scenario = Scenario.SUCCESS) -> Scenario:
    """The scenario an update id follows: its own if well known, else the default."""
    return SCENARIO_BY_ID.get(update_id, default)


def parse_scenario(name: str) -> Scenario:
    """A scenario from its name (as in the table); ValueError naming the choices otherwise."""
    try:
        return Scenario(name.strip().lower())
    except ValueError:
        choices = ", ".join(s.value for s in Scenario)
        raise ValueError(f"unknown scenario {name!r}; choose one of {choices}") from None


def _table_text(id_header: str, rows: Sequence[tuple[int, str, int, str]]) -> str:
    width = max(len(row[1]) for row in rows) + 1
    lines = [f"{id_header:>9}  {'scenario':<{width}} {'gate exit':<9}  what happens"]
    lines += [f"{job_id:>9}  {name:<{width}} {code:<9}  {summary}" for job_id, name, code, summary in rows]
    return "\n".join(lines)


def _table_markdown(headers: tuple[str, str], rows: Sequence[tuple[int, str, int, str]]) -> str:
    lines = [f"| {headers[0]} | scenario | {headers[1]} | what happens |", "|---|---|---|---|"]
    lines += [f"| {job_id} | `{name}` | {code} | {summary} |" for job_id, name, code, summary in rows]
    return "\n".join(lines)


def _scenario_rows() -> list[tuple[int, str, int, str]]:
    return [(s.update_id, s.scenario.value, s.gate_exit, s.summary) for s in SCENARIOS]


def scenario_table_text() -> str:
    """The scenario table for a terminal."""
    return _table_text("update id", _scenario_rows())


def scenario_table_markdown() -> str:
    """The scenario table as README.md shows it (a test keeps the two identical)."""
    return _table_markdown(("update id", "gate exit code"), _scenario_rows())


# --------------------------------------------------------------------------- the job (pure)


@dataclass(frozen=True)
class Phase:
    """Where a job stands. Times are offsets in seconds from the job's first request."""

    state: State
    progress: int
    updated_at: float
    started_at: float | None = None
    eta_at: float | None = None
    failed: int = 0
    error: str | None = None


def _running(elapsed: float, duration: float) -> Phase:
    start = RUNNING_AT * duration
    fraction = min(max((elapsed - start) / (duration - start), 0.0), 1.0)
    eta = duration + ETA_OVERESTIMATE * duration * (1.0 - fraction)
    return Phase(
        State.RUNNING,
        progress=min(int(fraction * 100), 99),
        updated_at=elapsed,
        started_at=start,
        eta_at=eta,
    )


def job_phase(scenario: Scenario, elapsed: float, duration: float) -> Phase:
    """The job of ``scenario`` after ``elapsed`` seconds, for a job that takes ``duration``."""
    if duration <= 0:
        raise ValueError(f"duration must be positive, got {duration!r}")
    elapsed = max(elapsed, 0.0)
    if elapsed < QUEUED_AT * duration:
        return Phase(State.CREATED, progress=0, updated_at=0.0)
    if elapsed < RUNNING_AT * duration:
        return Phase(State.QUEUED, progress=0, updated_at=QUEUED_AT * duration)

    if scenario is Scenario.FAILURE and elapsed >= FAILED_AT * duration:
        last = _running(FAILED_AT * duration, duration)
        return Phase(
            State.FAILED,
            progress=last.progress,
            updated_at=FAILED_AT * duration,
            started_at=last.started_at,
            eta_at=last.eta_at,
            failed=1,
            error=FAILURE_MESSAGE,
        )
    if scenario is Scenario.SQUASHED and elapsed >= SQUASHED_AT * duration:
        last = _running(SQUASHED_AT * duration, duration)
        return Phase(
            State.SQUASHED,
            progress=last.progress,
            updated_at=SQUASHED_AT * duration,
            started_at=last.started_at,
            eta_at=last.eta_at,
            error=SQUASHED_MESSAGE,
        )
    if scenario is Scenario.STUCK:
        # Frozen at the stall point forever: no progress, no new estimate, no update.
        return _running(min(elapsed, STALLED_AT * duration), duration)

    if elapsed < duration:
        phase = _running(elapsed, duration)
    else:
        phase = Phase(
            State.COMPLETE,
            progress=100,
            updated_at=duration,
            started_at=RUNNING_AT * duration,
            eta_at=duration,
        )
    if scenario is Scenario.NO_ETA:
        return Phase(phase.state, 0, phase.updated_at, phase.started_at, None, phase.failed, phase.error)
    return phase


def final_offset(scenario: Scenario, duration: float) -> float | None:
    """Seconds after its start at which a job of ``scenario`` reaches its final state (None: never).

    The network scenarios have a successful job behind them; api-error and not-found never
    answer with a status at all.
    """
    if duration <= 0:
        raise ValueError(f"duration must be positive, got {duration!r}")
    if scenario is Scenario.FAILURE:
        return FAILED_AT * duration
    if scenario is Scenario.SQUASHED:
        return SQUASHED_AT * duration
    if scenario in (Scenario.STUCK, Scenario.API_ERROR, Scenario.NOT_FOUND):
        return None
    return duration


_STATE_NAMES = {
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
        "jobstatename": _STATE_NAMES[phase.state],
        "jobfailed": phase.failed,
        "joberror": phase.error,
        "success": True,
        id_key: update_id,
    }


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


class Fault(enum.Enum):
    """Something other than a normal answer."""

    UNAVAILABLE = "503"
    BAD_GATEWAY = "502"
    DROP = "dropped connection"
    HTML = "HTML page"
    TRUNCATED = "truncated JSON"
    RATE_LIMITED = "429"
    SLOW = "slow answer"
    API_ERROR = "error body"
    NOT_FOUND = "404"


_FAULT_PLAN: Mapping[Scenario, Mapping[int, Fault]] = {
    Scenario.FLAKY: {
        2: Fault.UNAVAILABLE,
        4: Fault.BAD_GATEWAY,
        6: Fault.DROP,
        8: Fault.HTML,
        10: Fault.TRUNCATED,
    },
    Scenario.RATE_LIMITED: {2: Fault.RATE_LIMITED, 3: Fault.RATE_LIMITED},
    Scenario.SLOW: {2: Fault.SLOW},
}


def fault_for(scenario: Scenario, request_number: int) -> Fault | None:
    """What goes wrong on the ``request_number``-th (1-based) accepted request for a job, if anything."""
    if scenario is Scenario.API_ERROR:
        return Fault.API_ERROR
    if scenario is Scenario.NOT_FOUND:
        return Fault.NOT_FOUND
    return _FAULT_PLAN.get(scenario, {}).get(request_number)


# --------------------------------------------------------------------------- the deploy (pure)

JOB_KINDS: tuple[str, ...] = ("imageupdate", "imagediff", "imageversion")
ID_KEYS: Mapping[str, str] = {
    "imageupdate": "updateid",
    "imagediff": "diffid",
    "imageversion": "imageversionid",
}
# Jobs created through the simulator get ids from these, counting up, one range per kind.
FIRST_CREATED_ID: Mapping[str, int] = {"imageupdate": 30001, "imagediff": 40001, "imageversion": 50001}


class DeployScenario(str, enum.Enum):
    """What happens to a whole deploy (create, wait, publish, install) of an image."""

    DEPLOY = "deploy"
    IMAGE_LOCKED = "image-locked"
    DIFF_FAILED = "diff-failed"
    MACHINES_FAILED = "machines-failed"
    CREATE_UNAVAILABLE = "create-unavailable"
    INSTALL_STUCK = "install-stuck"
    FLEET_UNMARKED = "fleet-unmarked"
    EMPTY_DIFF = "empty-diff"
    NO_FILE_LIST = "no-file-list"
    UPDATE_LOCKED = "update-locked"
    INSTALL_NEVER_STARTS = "install-never-starts"
    BEARER_HOST = "bearer-host"


@dataclass(frozen=True)
class DeployScenarioSpec:
    """One row of the deploy scenario table: the scenario, its image id, what ``deploy`` does."""

    scenario: DeployScenario
    image_id: int
    gate_exit: int
    summary: str


FLEET_SIZE = 10
FAILING_MACHINES = 2
STUCK_MACHINES = 3
# The unpublished diff that locks the image of the image-locked scenario (a complete diff).
LOCKED_DIFF_ID = 218595
# Right after a version is published, for this fraction of the install (at most the cap), no
# machine is marked pending yet: the image status reads 0/0/0.
PUBLISH_GAP = 0.1
PUBLISH_GAP_MAX = 0.5
# The update that holds the image of the update-locked scenario (it never ends).
LOCKING_UPDATE_ID = 318595
# After the version of the fleet-unmarked scenario, its install jobs wait this long with no
# machine marked (longer than any "empty for a while means done" rule could bear).
UNMARKED_SECONDS = 45.0
# An install job of another account image that never ends: a deploy must never wait on it.
FOREIGN_VERSION_ID = 49999
FOREIGN_IMAGE_ID = 2999
GAME_ID = 77
EMPTY_DIFF_MESSAGE = "the image diff has no changes: publish a full version (full=1)"
DIFF_FAILURE_MESSAGE = "diff failed: the new files could not be compared with the current image version"
UNAVAILABLE_BODY = b"Service Unavailable"

DEPLOY_SCENARIOS: tuple[DeployScenarioSpec, ...] = (
    DeployScenarioSpec(
        DeployScenario.DEPLOY,
        2001,
        0,
        f"update, diff and version complete; {FLEET_SIZE} machines install one by one",
    ),
    DeployScenarioSpec(
        DeployScenario.IMAGE_LOCKED,
        2002,
        3,
        f"update and diff create answer HTTP 200 'image locked by diffid: {LOCKED_DIFF_ID}' until "
        f"diff {LOCKED_DIFF_ID} (complete) is published or rejected; image/options names it",
    ),
    DeployScenarioSpec(
        DeployScenario.DIFF_FAILED,
        2003,
        1,
        "the diff ends Failed (state 6) at 70% of the duration, with joberror; no version is made",
    ),
    DeployScenarioSpec(
        DeployScenario.MACHINES_FAILED,
        2004,
        1,
        f"{FAILING_MACHINES} of {FLEET_SIZE} machines fail the install (exit 0 with "
        f"--max-failed-machines {FAILING_MACHINES})",
    ),
    DeployScenarioSpec(
        DeployScenario.CREATE_UNAVAILABLE,
        2005,
        3,
        "the first update create gets HTTP 503, yet the job starts behind it (see /_sim/stats)",
    ),
    DeployScenarioSpec(
        DeployScenario.INSTALL_STUCK,
        2006,
        2,
        f"{STUCK_MACHINES} of {FLEET_SIZE} machines stay pending: the install never ends",
    ),
    DeployScenarioSpec(
        DeployScenario.FLEET_UNMARKED,
        2007,
        0,
        f"after the version, its install jobs wait {UNMARKED_SECONDS:.0f} s while the image status reads "
        f"0/0/0; then {FLEET_SIZE} machines install",
    ),
    DeployScenarioSpec(
        DeployScenario.EMPTY_DIFF,
        2008,
        0,
        "the diff lists no changed file (diff_info=1): deploy rejects it, 'nothing changed'; a version "
        "needs full=1 (--on-empty-diff publish)",
    ),
    DeployScenarioSpec(
        DeployScenario.NO_FILE_LIST,
        2009,
        0,
        "diff_info=1 names the image, game and machine but lists no files: the version is made as usual",
    ),
    DeployScenarioSpec(
        DeployScenario.UPDATE_LOCKED,
        2010,
        3,
        f"update {LOCKING_UPDATE_ID} holds the image and never ends (image/options names it; update "
        "create answers 'image locked')",
    ),
    DeployScenarioSpec(
        DeployScenario.INSTALL_NEVER_STARTS,
        2011,
        2,
        "the version completes but its install never starts: image status 0/0/0 and no install job",
    ),
    DeployScenarioSpec(
        DeployScenario.BEARER_HOST,
        2012,
        0,
        "as deploy; with a Bearer token the v1 calls need no accountserviceid (Basic still does)",
    ),
)

DEPLOY_SCENARIO_BY_IMAGE: Mapping[int, DeployScenario] = {s.image_id: s.scenario for s in DEPLOY_SCENARIOS}
IMAGE_BY_DEPLOY_SCENARIO: Mapping[DeployScenario, int] = {s.scenario: s.image_id for s in DEPLOY_SCENARIOS}


def deploy_scenario_for(image_id: int) -> DeployScenario:
    """The deploy scenario an image follows: its own if well known, else a plain deploy."""
    return DEPLOY_SCENARIO_BY_IMAGE.get(image_id, DeployScenario.DEPLOY)


def _deploy_rows() -> list[tuple[int, str, int, str]]:
    return [(s.image_id, s.scenario.value, s.gate_exit, s.summary) for s in DEPLOY_SCENARIOS]


def deploy_table_text() -> str:
    """The deploy scenario table for a terminal."""
    return _table_text("image id", _deploy_rows())


def deploy_table_markdown() -> str:
    """The deploy scenario table as README.md shows it (a test keeps the two identical)."""
    return _table_markdown(("image id", "`deploy` exit code"), _deploy_rows())


@dataclass(frozen=True)
class Fleet:
    """The machines that install a new image version: how many, how many fail, how many hang."""

    machines: int = FLEET_SIZE
    failing: int = 0
    stuck: int = 0

    def failing_machines(self) -> frozenset[int]:
        """Which machines (by install order) fail: spread over the fleet, never the stuck ones."""
        if self.failing <= 0:
            return frozenset()
        span = self.machines - self.stuck
        return frozenset(min(span - 1, int((j + 0.5) * span / self.failing)) for j in range(self.failing))


def fleet_for(scenario: DeployScenario) -> Fleet:
    if scenario is DeployScenario.MACHINES_FAILED:
        return Fleet(failing=FAILING_MACHINES)
    if scenario is DeployScenario.INSTALL_STUCK:
        return Fleet(stuck=STUCK_MACHINES)
    return Fleet()


def publish_gap(duration: float) -> float:
    """How long after publishing no machine is marked pending yet."""
    return min(PUBLISH_GAP * duration, PUBLISH_GAP_MAX)


def fleet_counts(fleet: Fleet, elapsed: float | None, duration: float) -> tuple[int, int, int]:
    """(pending, failed, completed) machines ``elapsed`` seconds after a version was published.

    ``None`` (nothing published yet) and the first moment after publishing read 0/0/0; then every
    machine is pending and they finish one by one, evenly spread over ``duration``, except the
    stuck ones, which never do.
    """
    if duration <= 0:
        raise ValueError(f"duration must be positive, got {duration!r}")
    gap = publish_gap(duration)
    if elapsed is None or elapsed < gap:
        return (0, 0, 0)
    finished = int((elapsed - gap) / (duration - gap) * fleet.machines + 1e-9)
    finished = max(0, min(finished, fleet.machines - fleet.stuck))
    failed = sum(1 for machine in fleet.failing_machines() if machine < finished)
    return (fleet.machines - finished, failed, finished - failed)


def fleet_body(counts: tuple[int, int, int]) -> dict[str, object]:
    """The image status body (``/cfp/v2/project/<asid>/image/<imageid>/status``)."""
    pending, failed, completed = counts
    return {"pending_machines": pending, "failed_machines": failed, "completed_machines": completed}


SEEDED_IDS = frozenset({LOCKED_DIFF_ID, LOCKING_UPDATE_ID})


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
        "jobstatename": _STATE_NAMES[state],
        "jobprogress": 0,
        "jobfailed": 0,
        "joberror": None,
        "machine": 7000 + image_id % 1000 * 10 + machine,
        "location": "sim-eu-1",
        "target_imageversionid": version_id,
        "restart": 1,
        "install_at": int(start),
    }


class MissingParameter(ValueError):
    """A create call lacks a required parameter or has a malformed one (HTTP 400)."""


def required_id(query: Mapping[str, str], name: str) -> int:
    """A required positive whole-number parameter; ``MissingParameter`` otherwise."""
    value = query.get(name, "").strip()
    if not value:
        raise MissingParameter(f"missing required parameter: {name}")
    if not value.isdigit() or int(value) <= 0:
        raise MissingParameter(f"parameter {name} must be a positive whole number, got {value!r}")
    return int(value)


def flag_value(query: Mapping[str, str], name: str, *, required: bool = False) -> bool | None:
    """A 0/1 (or true/false) parameter."""
    value = query.get(name, "").strip().lower()
    if not value:
        if required:
            raise MissingParameter(f"missing required parameter: {name}")
        return None
    if value in ("1", "true"):
        return True
    if value in ("0", "false"):
        return False
    raise MissingParameter(f"parameter {name} must be 0 or 1, got {value!r}")


# --------------------------------------------------------------------------- credentials

ACCESS_KEY_ENV = "CLANFORGE_ACCESS_KEY"
SECRET_KEY_ENV = "CLANFORGE_SECRET_KEY"
TOKEN_ENV = "CLANFORGE_TOKEN"
ACCOUNT_SERVICE_ID_ENV = "CLANFORGE_ACCOUNT_SERVICE_ID"

DEMO_ACCESS_KEY = "demo-access-key"
DEMO_SECRET_KEY = "demo-secret-key"
DEMO_TOKEN = "demo-token"
DEMO_ACCOUNT_SERVICE_ID = "12345"


@dataclass(frozen=True)
class SimulatorCredentials:
    """What the simulator accepts: a Basic pair, a Bearer token, or both. The repr hides them."""

    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    source: str = "demo"

    @classmethod
    def demo(cls) -> SimulatorCredentials:
        return cls(DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_TOKEN, source="demo")

    @property
    def is_demo(self) -> bool:
        return self.source == "demo"

    def accepts(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header value carries one of these credentials."""
        if not authorization:
            return False
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and self.token is not None:
            return hmac.compare_digest(value.encode(), self.token.encode())
        if scheme.lower() == "basic" and self.access_key is not None and self.secret_key is not None:
            try:
                decoded = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return False
            expected = f"{self.access_key}:{self.secret_key}".encode()
            return hmac.compare_digest(decoded, expected)
        return False

    def describe(self) -> list[str]:
        """How to authenticate, for a terminal: demo values in full, others only by variable name."""
        if self.is_demo:
            return [
                f"{ACCESS_KEY_ENV}={self.access_key} {SECRET_KEY_ENV}={self.secret_key}  (Basic)",
                f"or {TOKEN_ENV}={self.token}  (Bearer)",
            ]
        lines = []
        if self.access_key is not None:
            lines.append(f"the values of {ACCESS_KEY_ENV} and {SECRET_KEY_ENV} (Basic)")
        if self.token is not None:
            lines.append(f"the value of {TOKEN_ENV} (Bearer)")
        return lines


def _env_value(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value:
        return value
    file_name = env.get(f"{name}_FILE")
    if file_name:
        try:
            with open(file_name, encoding="utf-8") as handle:
                return handle.read().strip() or None
        except OSError:
            return None
    return None


def credentials_from_env(env: Mapping[str, str]) -> SimulatorCredentials:
    """The gate's credential variables (or their ``_FILE`` forms) when set, else the demo ones."""
    access = _env_value(env, ACCESS_KEY_ENV)
    secret = _env_value(env, SECRET_KEY_ENV)
    token = _env_value(env, TOKEN_ENV)
    if access is None or secret is None:
        access = secret = None
    if access is None and token is None:
        return SimulatorCredentials.demo()
    return SimulatorCredentials(access, secret, token, source="environment")


def account_service_id_from_env(env: Mapping[str, str]) -> str:
    return env.get(ACCOUNT_SERVICE_ID_ENV) or DEMO_ACCOUNT_SERVICE_ID


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------- HTTP shell


@dataclass(frozen=True)
class Request:
    """What a route handler sees."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    params: Mapping[str, str]


@dataclass(frozen=True)
class Response:
    """What a route handler returns. ``delay`` holds the answer back; ``drop`` closes without one."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    drop: bool = False

    @classmethod
    def json(cls, status: int, payload: object, **kwargs: object) -> Response:
        return cls(status, json.dumps(payload).encode(), **kwargs)  # type: ignore[arg-type]


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    """``pattern`` is a regular expression on the path; its named groups become ``Request.params``.

    ``api`` routes require credentials and the expected ``accountserviceid``.
    """

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    api: bool = True
    name: str = ""


@dataclass
class _Job:
    origin: float
    requests: int = 0


@dataclass(frozen=True)
class JobPlan:
    """A job that does not follow the simulator's defaults (see ``Simulator.plan_job``)."""

    scenario: Scenario | None = None
    duration: float | None = None
    origin: float | None = None


@dataclass
class _CreatedJob:
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


_BAD_GATEWAY_PAGE = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
_HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Maintenance</title></head>"
    b"<body><h1>We'll be right back</h1></body></html>"
)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    simulator: Simulator


class _Server6(_Server):
    address_family = socket.AF_INET6


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "clanforge-simulator"
    sys_version = ""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        simulator = self.server.simulator
        response = simulator.handle(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
        if response.delay > 0:
            simulator.wait_or_stop(response.delay)
        if response.drop:
            self.close_connection = True
            return
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up waiting (the slow scenario): nothing left to tell it.
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        log = self.server.simulator.log
        if log is not None:
            log(f"{self.address_string()} {format % args}")


class Simulator:
    """A Clanforge status endpoint on a loopback port.

    ``start()`` serves in a daemon thread and returns the base URL; ``stop()`` ends it;
    ``serve_forever()`` serves in the calling thread. ``request_count(id)`` and ``stats()`` (also
    ``GET /_sim/stats``) tell how many requests each job id and each endpoint received;
    ``create_count(kind)`` how many create calls of a kind arrived, ``created(kind)`` the ids of
    the jobs they started.

    Besides the status of image update, diff and version jobs it serves their create calls and the
    image status that follows a fleet installing a published version (``DEPLOY_SCENARIOS``).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        duration: float = DEFAULT_DURATION,
        default_scenario: Scenario = Scenario.SUCCESS,
        credentials: SimulatorCredentials | None = None,
        account_service_id: str | None = None,
        slow_seconds: float = DEFAULT_SLOW_SECONDS,
        clock: Callable[[], float] = time.time,
        allow_non_loopback: bool = False,
        log: Callable[[str], None] | None = None,
    ) -> None:
        if not is_loopback(host) and not allow_non_loopback:
            raise ValueError(
                f"refusing to listen on {host}: the simulator is meant for this machine only (it may "
                "accept demo credentials and shows its request counts to anyone); use 127.0.0.1"
            )
        if duration <= 0:
            raise ValueError(f"duration must be positive, got {duration!r}")
        self.host = host
        self.port = port
        self.duration = duration
        self.default_scenario = default_scenario
        self.credentials = credentials if credentials is not None else credentials_from_env(os.environ)
        self.account_service_id = (
            account_service_id if account_service_id is not None else account_service_id_from_env(os.environ)
        )
        self.slow_seconds = slow_seconds
        self.clock = clock
        self.log = log
        self.routes: list[Route] = []
        self._jobs: dict[tuple[str, int], _Job] = {}
        self._plans: dict[tuple[str, int], JobPlan] = {}
        self._counts: dict[int, int] = {}
        self._endpoint_counts: dict[str, int] = {}
        self._created: dict[str, dict[int, _CreatedJob]] = {kind: {} for kind in JOB_KINDS}
        self._next_id = dict(FIRST_CREATED_ID)
        self._published: dict[int, _CreatedJob] = {}
        self._unavailable_served: set[int] = set()
        self._published_diffs: set[int] = set()
        self._rejected: set[int] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._seed_locked_diff()
        for kind in JOB_KINDS:
            key = ID_KEYS[kind]
            self.add_route(
                "GET",
                rf"/cfp/v1/{kind}/(?P<{key}>\d+)/status",
                self._status_handler(kind),
                name=f"{kind}/status",
            )
        self.add_route("GET", r"/cfp/v1/imageupdate/create", self._create_update, name="imageupdate/create")
        self.add_route("GET", r"/cfp/v1/imagediff/create", self._create_diff, name="imagediff/create")
        self.add_route(
            "GET", r"/cfp/v1/imageversion/create", self._create_version, name="imageversion/create"
        )
        self.add_route(
            "GET",
            r"/cfp/v2/project/(?P<asid>[^/]+)/image/(?P<imageid>\d+)/status",
            self._image_status,
            name="image/status",
        )
        self.add_route(
            "GET", r"/cfp/v1/imagediff/(?P<diffid>\d+)/reject", self._reject_diff, name="imagediff/reject"
        )
        self.add_route("GET", r"/cfp/v1/image/options", self._image_options, name="image/options")
        self.add_route(
            "GET", r"/cfp/v1/imageinstall/status", self._install_status, name="imageinstall/status"
        )
        self.add_route("GET", r"/_sim/stats", self._stats_route, api=False)

    # -- routes

    def add_route(
        self, method: str, pattern: str, handler: Handler, *, api: bool = True, name: str | None = None
    ) -> None:
        """Serve ``method`` requests whose path fully matches ``pattern`` with ``handler``.

        ``name`` keys the route's request count in ``stats()`` (default: the pattern).
        """
        self.routes.append(Route(method.upper(), re.compile(pattern), handler, api, name or pattern))

    def handle(self, method: str, target: str, headers: Mapping[str, str]) -> Response:
        """Answer one request (the HTTP handler's only entry point)."""
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        matched = [(route, m) for route in self.routes if (m := route.pattern.fullmatch(path))]
        if not matched:
            return Response.json(404, error_body(f"no such endpoint: {path}"))
        for route, match in matched:
            if route.method == method.upper():
                request = Request(method.upper(), path, query, headers, match.groupdict())
                if route.api:
                    with self._lock:
                        self._endpoint_counts[route.name] = self._endpoint_counts.get(route.name, 0) + 1
                    refusal = self._check_access(request)
                    if refusal is not None:
                        return refusal
                return route.handler(request)
        return Response.json(405, error_body(f"method {method} not allowed on {path}"))

    def _check_access(self, request: Request) -> Response | None:
        for key in ("updateid", "diffid", "imageversionid"):
            if key in request.params:
                self._count(int(request.params[key]))
        if not self.credentials.accepts(request.headers.get("authorization")):
            return Response.json(401, error_body("forbidden"), headers=(("WWW-Authenticate", "Basic"),))
        asid = request.query.get("accountserviceid")
        bearer = (request.headers.get("authorization") or "").strip().lower().startswith("bearer ")
        if not asid and bearer:
            # The new operator's host: a token names its account; an id, when given, must match.
            return None
        if not asid:
            return Response.json(400, error_body("accountserviceid is required"))
        if asid != self.account_service_id:
            return Response.json(403, error_body("forbidden"))
        return None

    def _count(self, update_id: int) -> None:
        with self._lock:
            self._counts[update_id] = self._counts.get(update_id, 0) + 1

    def plan_job(
        self,
        job_id: int,
        *,
        kind: str = "imageupdate",
        scenario: Scenario | None = None,
        duration: float | None = None,
        origin: float | None = None,
    ) -> None:
        """Give one job its own scenario, duration and start, leaving every other job as it was.

        ``origin`` is the unix time (on the simulator's clock) at which the job began; without it
        the job's clock starts on its first request, as for any other job. A known origin and
        duration give the job a known end: ``origin + final_offset(scenario, duration)``.
        Plans outlive ``reset()``.
        """
        if kind not in JOB_KINDS:
            raise ValueError(f"unknown job kind {kind!r}; choose one of {', '.join(JOB_KINDS)}")
        if duration is not None and duration <= 0:
            raise ValueError(f"duration must be positive, got {duration!r}")
        with self._lock:
            self._plans[(kind, job_id)] = JobPlan(scenario, duration, origin)

    def _status_handler(self, kind: str) -> Handler:
        def handler(request: Request) -> Response:
            job_id = int(request.params[ID_KEYS[kind]])
            if kind == "imagediff" and request.query.get("diff_info") == "1":
                with self._lock:
                    diff = self._created["imagediff"].get(job_id)
                if diff is not None:
                    body = self._created_body(diff, self.clock())
                    return Response.json(200, {**body, "diff_info": diff_info(diff.image_id, diff.job_id)})
            return self._job_status(kind, job_id)

        return handler

    def _job_status(self, kind: str, job_id: int) -> Response:
        now = self.clock()
        with self._lock:
            created = self._created[kind].get(job_id)
        if created is not None:
            return Response.json(200, self._created_body(created, now))
        with self._lock:
            plan = self._plans.get((kind, job_id), JobPlan())
            origin = plan.origin if plan.origin is not None else now
            job = self._jobs.setdefault((kind, job_id), _Job(origin=origin))
            job.requests += 1
            number = job.requests
        scenario = plan.scenario if plan.scenario is not None else scenario_for(job_id, self.default_scenario)
        duration = plan.duration if plan.duration is not None else self.duration
        fault = fault_for(scenario, number)
        if fault is Fault.API_ERROR:
            return Response.json(200, error_body(API_ERROR_MESSAGE))
        if fault is Fault.NOT_FOUND:
            return Response.json(404, error_body("No rows in result set"))
        if fault is Fault.UNAVAILABLE:
            return Response(503, UNAVAILABLE_BODY, content_type="text/plain")
        if fault is Fault.BAD_GATEWAY:
            return Response(502, _BAD_GATEWAY_PAGE, content_type="text/html")
        if fault is Fault.DROP:
            return Response(0, drop=True)
        if fault is Fault.HTML:
            return Response(200, _HTML_PAGE, content_type="text/html")
        if fault is Fault.RATE_LIMITED:
            return Response.json(
                429,
                error_body("rate limit exceeded"),
                headers=(("Retry-After", str(RETRY_AFTER_SECONDS)),),
            )
        phase = job_phase(scenario, now - job.origin, duration)
        body = json.dumps(status_body(job_id, phase, job.origin, ID_KEYS[kind]))
        if fault is Fault.TRUNCATED:
            return Response(200, body[: len(body) // 2].encode())
        if fault is Fault.SLOW:
            return Response(200, body.encode(), delay=self.slow_seconds)
        return Response(200, body.encode())

    # -- the deploy: create calls and the image status

    def _seed_locked_diff(self) -> None:
        """The complete, unpublished diff that locks the image of the image-locked scenario."""
        image = IMAGE_BY_DEPLOY_SCENARIO[DeployScenario.IMAGE_LOCKED]
        origin = self.clock() - 2 * self.duration
        self._created["imagediff"][LOCKED_DIFF_ID] = _CreatedJob("imagediff", LOCKED_DIFF_ID, image, origin)
        # The update that holds the image of the update-locked scenario: it runs for ever.
        held = IMAGE_BY_DEPLOY_SCENARIO[DeployScenario.UPDATE_LOCKED]
        self._created["imageupdate"][LOCKING_UPDATE_ID] = _CreatedJob(
            "imageupdate", LOCKING_UPDATE_ID, held, origin, scenario=Scenario.STUCK
        )

    def _phase(self, job: _CreatedJob, now: float) -> Phase:
        phase = job_phase(job.scenario, now - job.origin, self.duration)
        if phase.error is not None and job.error is not None:
            phase = dataclasses.replace(phase, error=job.error)
        return phase

    def _created_body(self, job: _CreatedJob, now: float) -> dict[str, object]:
        return status_body(job.job_id, self._phase(job, now), job.origin, ID_KEYS[job.kind])

    def _start(self, kind: str, image_id: int, **details: Any) -> _CreatedJob:
        """Start a job of ``kind`` now, under a new id (the caller holds the lock)."""
        job_id = self._next_id[kind]
        self._next_id[kind] = job_id + 1
        job = _CreatedJob(kind, job_id, image_id, self.clock(), **details)
        self._created[kind][job_id] = job
        return job

    def lock_of(self, image_id: int) -> tuple[str, int] | None:
        """What holds the image (``("diffid", n)`` or ``("updateid", n)``), or None.

        A diff holds its image from its creation until it is published or rejected; the
        update-locked scenario's image is held by an update that never ends.
        """
        with self._lock:
            return self._held_by(image_id)

    def _held_by(self, image_id: int) -> tuple[str, int] | None:
        if deploy_scenario_for(image_id) is DeployScenario.UPDATE_LOCKED:
            return ("updateid", LOCKING_UPDATE_ID)
        for diff in reversed(list(self._created["imagediff"].values())):
            if diff.image_id == image_id and diff.job_id not in self._published_diffs | self._rejected:
                return ("diffid", diff.job_id)
        return None

    def _locked(self, image_id: int, allowed_diff: int | None = None) -> Response | None:
        """The API's 'image locked' answer, if a diff or update other than ``allowed_diff`` holds it."""
        held = self._held_by(image_id)
        if held is None or held == ("diffid", allowed_diff):
            return None
        return Response.json(200, error_body(f"image locked by {held[0]}: {held[1]}"))

    def _create_update(self, request: Request) -> Response:
        try:
            image_id = required_id(request.query, "imageid")
            required_id(request.query, "machineid")
            if not request.query.get("desc", "").strip():
                raise MissingParameter("missing required parameter: desc")
        except MissingParameter as exc:
            return Response.json(400, error_body(str(exc)))
        scenario = deploy_scenario_for(image_id)
        with self._lock:
            locked = self._locked(image_id)
            if locked is not None:
                return locked
            job = self._start("imageupdate", image_id)
            if scenario is DeployScenario.CREATE_UNAVAILABLE and image_id not in self._unavailable_served:
                # The proxy in front gave up, but the job had started: why a create is never retried.
                self._unavailable_served.add(image_id)
                return Response(503, UNAVAILABLE_BODY, content_type="text/plain")
        return Response.json(200, self._created_body(job, self.clock()))

    def _create_diff(self, request: Request) -> Response:
        try:
            image_id = required_id(request.query, "imageid")
            required_id(request.query, "machineid")
            retry = required_id(request.query, "diffid") if request.query.get("diffid") else None
        except MissingParameter as exc:
            return Response.json(400, error_body(str(exc)))
        failing = deploy_scenario_for(image_id) is DeployScenario.DIFF_FAILED
        details: dict[str, Any] = (
            {"scenario": Scenario.FAILURE, "error": DIFF_FAILURE_MESSAGE} if failing else {}
        )
        with self._lock:
            earlier = self._created["imagediff"].get(retry) if retry is not None else None
            if retry is not None and (earlier is None or earlier.image_id != image_id):
                return Response.json(404, error_body("No rows in result set"))
            locked = self._locked(image_id, allowed_diff=retry)
            if locked is not None:
                return locked
            if earlier is not None:
                # A retry runs the same diff again, under its own id.
                job = dataclasses.replace(earlier, origin=self.clock())
                self._created["imagediff"][job.job_id] = job
            else:
                job = self._start("imagediff", image_id, **details)
        return Response.json(200, self._created_body(job, self.clock()))

    def _create_version(self, request: Request) -> Response:
        try:
            diff_id = required_id(request.query, "diffid")
            flag_value(request.query, "restart", required=True)
            full = bool(flag_value(request.query, "full"))
            flag_value(request.query, "force")
            install_at = (
                float(required_id(request.query, "install_at")) if "install_at" in request.query else None
            )
            for name in ("disable_timeout", "disable_percentage"):
                if name in request.query and not request.query[name].strip().isdigit():
                    raise MissingParameter(
                        f"parameter {name} must be a whole number, got {request.query[name]!r}"
                    )
        except MissingParameter as exc:
            return Response.json(400, error_body(str(exc)))
        now = self.clock()
        with self._lock:
            diff = self._created["imagediff"].get(diff_id)
            if diff is None:
                return Response.json(404, error_body("No rows in result set"))
            if diff_id in self._rejected:
                return Response.json(200, error_body(f"diff {diff_id} was rejected: it cannot be published"))
            state = self._phase(diff, now).state
            empty = deploy_scenario_for(diff.image_id) is DeployScenario.EMPTY_DIFF
            if state is State.COMPLETE and not full and empty:
                return Response.json(200, error_body(EMPTY_DIFF_MESSAGE))
            if state is not State.COMPLETE:
                return Response.json(
                    400,
                    error_body(
                        f"diff {diff_id} is {_STATE_NAMES[state]}, not Complete: it cannot be published"
                    ),
                )
            job = self._start(
                "imageversion", diff.image_id, diff_id=diff_id, install_at=install_at, full=full
            )
            self._published[diff.image_id] = job
            self._published_diffs.add(diff_id)
        return Response.json(200, self._created_body(job, now))

    def _image_status(self, request: Request) -> Response:
        if request.params["asid"] != self.account_service_id:
            return Response.json(403, error_body("forbidden"))
        image_id = int(request.params["imageid"])
        now = self.clock()
        with self._lock:
            version = self._published.get(image_id)
        start = self._install_start(version) if version is not None else None
        elapsed = now - start if start is not None and now >= start else None
        counts = fleet_counts(fleet_for(deploy_scenario_for(image_id)), elapsed, self.duration)
        return Response.json(200, fleet_body(counts))

    def _install_start(self, version: _CreatedJob) -> float | None:
        """When a version's machines start installing; None when it never does (no install_at)."""
        scenario = deploy_scenario_for(version.image_id)
        if version.install_at is None or scenario is DeployScenario.INSTALL_NEVER_STARTS:
            return None
        # The machines install once the version job has completed, and not before install_at.
        start = max(version.origin + self.duration, version.install_at)
        return start + (UNMARKED_SECONDS if scenario is DeployScenario.FLEET_UNMARKED else 0.0)

    def _install_status(self, request: Request) -> Response:
        """The account's unfinished install jobs: one per machine still to install, any image."""
        now = self.clock()
        with self._lock:
            versions = list(self._published.values())
        installs = [install_job(FOREIGN_VERSION_ID, FOREIGN_IMAGE_ID, 0, now - 3600, running=False)]
        for version in versions:
            start = self._install_start(version)
            if start is None or now < version.origin + self.duration:
                continue
            elapsed = now - start
            counts = fleet_counts(
                fleet_for(deploy_scenario_for(version.image_id)),
                elapsed if elapsed >= 0 else None,
                self.duration,
            )
            marked = counts != (0, 0, 0)
            waiting = counts[0] if marked else FLEET_SIZE
            installs += [
                install_job(version.job_id, version.image_id, machine, start, running=marked)
                for machine in range(FLEET_SIZE - waiting, FLEET_SIZE)
            ]
        return Response.json(200, {"installs": installs, "success": True})

    def _image_options(self, request: Request) -> Response:
        """The image's options: ``diffid`` or ``updateid`` when one holds the image."""
        game, image = request.query.get("gameid", ""), request.query.get("imageid", "")
        if bool(game) != bool(image):
            return Response.json(400, error_body("gameid and imageid must be given together"))
        if not image:
            return Response.json(200, {"success": True, "update_urls": []})
        try:
            image_id = required_id(request.query, "imageid")
            required_id(request.query, "gameid")
        except MissingParameter as exc:
            return Response.json(400, error_body(str(exc)))
        options: dict[str, object] = {
            "success": True,
            "imageid": image_id,
            "gameid": int(game),
            "update_urls": [f"s3://sim-builds/{image_id}/"],
        }
        with self._lock:
            held = self._held_by(image_id)
        if held is not None:
            options[held[0]] = held[1]
        return Response.json(200, options)

    def _reject_diff(self, request: Request) -> Response:
        diff_id = int(request.params["diffid"])
        try:
            flag_value(request.query, "reinstall", required=True)
        except MissingParameter as exc:
            return Response.json(400, error_body(str(exc)))
        now = self.clock()
        with self._lock:
            diff = self._created["imagediff"].get(diff_id)
            if diff is None:
                return Response.json(404, error_body("No rows in result set"))
            if diff_id in self._published_diffs:
                return Response.json(200, error_body(f"diff {diff_id} was published: it cannot be rejected"))
            if diff_id in self._rejected:
                return Response.json(200, error_body(f"diff {diff_id} was already rejected"))
            state = self._phase(diff, now).state
            if state not in (State.COMPLETE, State.FAILED):
                return Response.json(
                    200,
                    error_body(
                        f"diff {diff_id} is {_STATE_NAMES[state]}: only a Complete or Failed diff "
                        "can be rejected"
                    ),
                )
            self._rejected.add(diff_id)
        return Response.json(200, {"success": True, "diffid": diff_id})

    def _stats_route(self, request: Request) -> Response:
        return Response.json(200, self.stats())

    # -- stats

    def request_count(self, update_id: int) -> int:
        """How many requests named ``update_id`` (rejected ones included)."""
        with self._lock:
            return self._counts.get(update_id, 0)

    def endpoint_count(self, name: str) -> int:
        """How many requests reached the endpoint ``name`` (``imagediff/status``...), rejected ones too."""
        with self._lock:
            return self._endpoint_counts.get(name, 0)

    def create_count(self, kind: str) -> int:
        """How many ``/cfp/v1/<kind>/create`` calls arrived (whatever their answer)."""
        return self.endpoint_count(f"{kind}/create")

    def created(self, kind: str) -> list[int]:
        """The ids of the jobs of ``kind`` that create calls started, in order."""
        with self._lock:
            return [job_id for job_id in self._created[kind] if job_id not in SEEDED_IDS]

    def rejected(self) -> list[int]:
        """The ids of the diffs rejected, in order."""
        with self._lock:
            return sorted(self._rejected)

    def stats(self) -> dict[str, object]:
        """Requests per job id and per endpoint, create calls and the jobs they started.

        Served as ``GET /_sim/stats``.
        """
        with self._lock:
            counts = {str(key): value for key, value in sorted(self._counts.items())}
            endpoints = dict(sorted(self._endpoint_counts.items()))
            created = {
                kind: [job_id for job_id in jobs if job_id not in SEEDED_IDS]
                for kind, jobs in self._created.items()
            }
        creates = {kind: endpoints.get(f"{kind}/create", 0) for kind in JOB_KINDS}
        with self._lock:
            rejected = sorted(self._rejected)
        return {
            "rejects": endpoints.get("imagediff/reject", 0),
            "rejected": rejected,
            "requests": counts,
            "total": sum(counts.values()),
            "endpoints": endpoints,
            "creates": creates,
            "created": created,
        }

    def reset(self) -> None:
        """Forget all jobs and counts: the next request for an id starts its clock again.

        Planned jobs keep their plan (a planned origin stays where it was).
        """
        with self._lock:
            self._jobs.clear()
            self._counts.clear()
            self._endpoint_counts.clear()
            self._created = {kind: {} for kind in JOB_KINDS}
            self._next_id = dict(FIRST_CREATED_ID)
            self._published.clear()
            self._unavailable_served.clear()
            self._published_diffs.clear()
            self._rejected.clear()
            self._seed_locked_diff()

    # -- lifecycle

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        port = self._server.server_address[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    def bind(self) -> str:
        """Open the listening socket (port 0 picks a free one); return the base URL."""
        if self._server is None:
            server_class = _Server6 if ":" in self.host else _Server
            server = server_class((self.host.strip("[]"), self.port), _RequestHandler)
            server.simulator = self
            self._server = server
            self._stopping.clear()
        return self.base_url

    def start(self) -> str:
        """Serve in a daemon thread; return the base URL."""
        url = self.bind()
        if self._thread is None:
            assert self._server is not None
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
            )
            self._thread.start()
        return url

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``stop()`` (from another thread) or KeyboardInterrupt."""
        self.bind()
        assert self._server is not None
        try:
            self._server.serve_forever(poll_interval=0.1)
        finally:
            self._close()

    def stop(self) -> None:
        """Stop serving and release the port. Held-back answers are released at once."""
        self._stopping.set()
        server = self._server
        if server is None:
            return
        server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close()

    def _close(self) -> None:
        if self._server is not None:
            self._server.server_close()
            self._server = None

    def wait_or_stop(self, seconds: float) -> None:
        """Hold an answer back for ``seconds``, or less if the simulator is stopping."""
        self._stopping.wait(seconds)

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
