"""A local stand-in for the Clanforge job API, for demos, pipeline rehearsals and end-to-end tests.

The layout, from the pure core outwards (each module imports only those above it):

* ``scenarios``: the scenario tables (update scenarios by update id, deploy scenarios by image id);
* ``timeline``: where a scenario's job stands after some elapsed time, what goes wrong on its
  n-th request, how far a fleet install has got;
* ``bodies``: the documented JSON for all of that;
* ``credentials``: what the simulator accepts, and where it may listen;
* ``routing``: the request, response and route values the handlers trade in;
* ``account``: the simulated account's state (jobs, locks, published versions, counts);
* ``status_api``, ``create_api``, ``image_api``: the API handlers, by endpoint family;
* ``server``: ``Simulator``, the HTTP server on loopback, its credential checks and routing;
* ``commands``: the ``simulate`` and ``demo`` commands (the CLI lends them what they need).
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gate.sim.account import FIRST_CREATED_ID, JOB_KINDS, JobPlan
    from gate.sim.bodies import error_body, status_body
    from gate.sim.credentials import (
        ACCESS_KEY_ENV,
        DEMO_ACCOUNT_SERVICE_ID,
        SECRET_KEY_ENV,
        TOKEN_ENV,
        SimulatorCredentials,
        credentials_from_env,
        is_loopback,
    )
    from gate.sim.routing import Request, Response, Route
    from gate.sim.scenarios import (
        API_ERROR_MESSAGE,
        DEFAULT_DURATION,
        DEPLOY_SCENARIOS,
        DIFF_FAILURE_MESSAGE,
        FAILURE_MESSAGE,
        FLEET_SIZE,
        FOREIGN_VERSION_ID,
        GAME_ID,
        ID_BY_SCENARIO,
        IMAGE_BY_DEPLOY_SCENARIO,
        LOCKED_DIFF_ID,
        LOCKING_UPDATE_ID,
        SCENARIOS,
        SQUASHED_MESSAGE,
        UNMARKED_SECONDS,
        DeployScenario,
        Scenario,
        deploy_scenario_for,
        deploy_table_markdown,
        deploy_table_text,
        parse_scenario,
        scenario_for,
        scenario_table_markdown,
        scenario_table_text,
    )
    from gate.sim.server import Simulator
    from gate.sim.timeline import (
        Fault,
        Fleet,
        fault_for,
        final_offset,
        fleet_counts,
        fleet_for,
        job_phase,
        publish_gap,
    )

# Where each name lives. Nothing is imported until it is asked for: building the CLI's parser
# reads the scenario tables from this package without paying for the rest (the server, the
# account, http.server), so --version and --help start fast.
_HOMES: dict[str, tuple[str, ...]] = {
    "account": (
        "FIRST_CREATED_ID",
        "JOB_KINDS",
        "JobPlan",
    ),
    "bodies": (
        "error_body",
        "status_body",
    ),
    "credentials": (
        "ACCESS_KEY_ENV",
        "DEMO_ACCOUNT_SERVICE_ID",
        "SECRET_KEY_ENV",
        "TOKEN_ENV",
        "SimulatorCredentials",
        "credentials_from_env",
        "is_loopback",
    ),
    "routing": (
        "Request",
        "Response",
        "Route",
    ),
    "scenarios": (
        "API_ERROR_MESSAGE",
        "DEFAULT_DURATION",
        "DEPLOY_SCENARIOS",
        "DIFF_FAILURE_MESSAGE",
        "FAILURE_MESSAGE",
        "FLEET_SIZE",
        "FOREIGN_VERSION_ID",
        "GAME_ID",
        "ID_BY_SCENARIO",
        "IMAGE_BY_DEPLOY_SCENARIO",
        "LOCKED_DIFF_ID",
        "LOCKING_UPDATE_ID",
        "SCENARIOS",
        "SQUASHED_MESSAGE",
        "UNMARKED_SECONDS",
        "DeployScenario",
        "Scenario",
        "deploy_scenario_for",
        "deploy_table_markdown",
        "deploy_table_text",
        "parse_scenario",
        "scenario_for",
        "scenario_table_markdown",
        "scenario_table_text",
    ),
    "timeline": (
        "Fault",
        "Fleet",
        "fault_for",
        "final_offset",
        "fleet_counts",
        "fleet_for",
        "job_phase",
        "publish_gap",
    ),
    "server": ("Simulator",),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'gate.sim' has no attribute {name!r}")
    return getattr(importlib.import_module(f"gate.sim.{module}"), name)


__all__ = [
    "ACCESS_KEY_ENV",
    "API_ERROR_MESSAGE",
    "DEFAULT_DURATION",
    "DEMO_ACCOUNT_SERVICE_ID",
    "DEPLOY_SCENARIOS",
    "DIFF_FAILURE_MESSAGE",
    "FAILURE_MESSAGE",
    "FIRST_CREATED_ID",
    "FLEET_SIZE",
    "FOREIGN_VERSION_ID",
    "GAME_ID",
    "ID_BY_SCENARIO",
    "IMAGE_BY_DEPLOY_SCENARIO",
    "JOB_KINDS",
    "LOCKED_DIFF_ID",
    "LOCKING_UPDATE_ID",
    "SCENARIOS",
    "SECRET_KEY_ENV",
    "SQUASHED_MESSAGE",
    "TOKEN_ENV",
    "UNMARKED_SECONDS",
    "DeployScenario",
    "Fault",
    "Fleet",
    "JobPlan",
    "Request",
    "Response",
    "Route",
    "Scenario",
    "Simulator",
    "SimulatorCredentials",
    "credentials_from_env",
    "deploy_scenario_for",
    "deploy_table_markdown",
    "deploy_table_text",
    "error_body",
    "fault_for",
    "final_offset",
    "fleet_counts",
    "fleet_for",
    "is_loopback",
    "job_phase",
    "parse_scenario",
    "publish_gap",
    "scenario_for",
    "scenario_table_markdown",
    "scenario_table_text",
    "status_body",
]
