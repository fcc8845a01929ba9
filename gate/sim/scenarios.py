"""The simulator's scenarios: what an update id's job does, and what a deploy of an image id meets.

Pure tables and lookups, free of I/O: each update scenario lives on a well-known update id
(``SCENARIOS``), each deploy scenario on a well-known image id (``DEPLOY_SCENARIOS``); any other
id follows a default. README.md shows both tables as ``scenario_table_markdown`` and
``deploy_table_markdown`` print them (a test keeps them identical).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class Scenario(str, enum.Enum):
    """What the simulated job (or the network in front of it) does."""

    @staticmethod
    def _generate_next_value_(name: str, start: int, count: int, last_values: list[str]) -> str:
        # A scenario's name is its member's, in lower case with hyphens: RATE_LIMITED is rate-limited.
        return name.lower().replace("_", "-")

    SUCCESS = enum.auto()
    FAILURE = enum.auto()
    SQUASHED = enum.auto()
    STUCK = enum.auto()
    FLAKY = enum.auto()
    RATE_LIMITED = enum.auto()
    SLOW = enum.auto()
    API_ERROR = enum.auto()
    NOT_FOUND = enum.auto()
    NO_ETA = enum.auto()
    NAME_ONLY = enum.auto()
    NAME_ONLY_FAILURE = enum.auto()
    REQUIRED_ONLY = enum.auto()
    LOOSE_TYPES = enum.auto()


class BodyShape(enum.Enum):
    """Which of the documented fields a status answer carries, and in which JSON types."""

    FULL = "every field, as the documentation's example shows it"
    NAME_ONLY = "no jobstateid: the state is named only by jobstatename"
    REQUIRED_ONLY = "only the fields the documentation marks required"
    LOOSE_TYPES = "the fields that only inform in other JSON types, plus one it does not list"


# The scenarios that follow another's timeline in another body shape: (timeline, shape).
_SHAPED: Mapping[Scenario, tuple[Scenario, BodyShape]] = {
    Scenario.NAME_ONLY: (Scenario.SUCCESS, BodyShape.NAME_ONLY),
    Scenario.NAME_ONLY_FAILURE: (Scenario.FAILURE, BodyShape.NAME_ONLY),
    Scenario.REQUIRED_ONLY: (Scenario.SUCCESS, BodyShape.REQUIRED_ONLY),
    Scenario.LOOSE_TYPES: (Scenario.SUCCESS, BodyShape.LOOSE_TYPES),
}


def timeline_of(scenario: Scenario) -> Scenario:
    """The scenario whose states, progress and ETA a job of ``scenario`` goes through."""
    return _SHAPED.get(scenario, (scenario, BodyShape.FULL))[0]


def shape_of(scenario: Scenario) -> BodyShape:
    """The body shape the answers of ``scenario`` take."""
    return _SHAPED.get(scenario, (scenario, BodyShape.FULL))[1]


@dataclass(frozen=True)
class ScenarioSpec:
    """One row of the scenario table: the scenario, its well-known update id, what the gate does."""

    scenario: Scenario
    update_id: int
    gate_exit: int
    summary: str


# One row a scenario: its well-known update id, the gate's exit code, what it answers.
SCENARIOS: tuple[ScenarioSpec, ...] = (
    ScenarioSpec(Scenario.SUCCESS, 1001, 0,
                 "Created, Queued, Running with moving progress and ETA, Complete"),
    ScenarioSpec(Scenario.FAILURE, 1002, 1,
                 "runs, then Failed (state 6) at 70% of the duration, with joberror"),
    ScenarioSpec(Scenario.SQUASHED, 1003, 1, "runs, then Squashed (state 7) halfway through"),
    ScenarioSpec(Scenario.STUCK, 1004, 2, "stalls in Running at half time; its ETA slides into the past"),
    ScenarioSpec(Scenario.FLAKY, 1005, 0,
                 "requests 2, 4, 6, 8, 10 get 503, 502, a dropped connection, an HTML page, truncated JSON"),
    ScenarioSpec(Scenario.RATE_LIMITED, 1006, 0, "requests 2 and 3 get 429 with Retry-After: 1"),
    ScenarioSpec(Scenario.SLOW, 1007, 0, "request 2 is answered only after the slow delay (default 15s)"),
    ScenarioSpec(Scenario.API_ERROR, 1008, 3, "HTTP 200 with error: true and an error_message"),
    ScenarioSpec(Scenario.NOT_FOUND, 1009, 3, 'HTTP 404 with "No rows in result set"'),
    ScenarioSpec(Scenario.NO_ETA, 1010, 0, "like success, but jobeta is always null and jobprogress stays 0"),
    ScenarioSpec(Scenario.NAME_ONLY, 1011, 0, "like success, but no answer has jobstateid (it is optional)"),
    ScenarioSpec(Scenario.NAME_ONLY_FAILURE, 1012, 1, "like failure, no jobstateid: Failed by name alone"),
    ScenarioSpec(Scenario.REQUIRED_ONLY, 1013, 0,
                 "like success, with only the required fields: no jobstateid, jobstart, jobeta or joberror"),
    ScenarioSpec(Scenario.LOOSE_TYPES, 1014, 0,
                 "like success; jobprogress a string, jobstart an integer, jobcreated a float, jobfailed "
                 "false, an undocumented field"),
)  # fmt: skip

SCENARIO_BY_ID: Mapping[int, Scenario] = {spec.update_id: spec.scenario for spec in SCENARIOS}
ID_BY_SCENARIO: Mapping[Scenario, int] = {spec.scenario: spec.update_id for spec in SCENARIOS}

DEFAULT_DURATION = 12.0
DEFAULT_SLOW_SECONDS = 15.0
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


Row = tuple[int, str, int, str]


@dataclass(frozen=True)
class ScenarioTable:
    """A scenario table: rows of (job or image id, scenario, exit code, what happens)."""

    id_header: str
    exit_header: str
    rows: Sequence[Row]

    def text(self) -> str:
        """The table for a terminal."""
        width = max(len(row[1]) for row in self.rows) + 1
        lines = [f"{self.id_header:>9}  {'scenario':<{width}} {'gate exit':<9}  what happens"]
        lines += [f"{key:>9}  {name:<{width}} {code:<9}  {summary}" for key, name, code, summary in self.rows]
        return "\n".join(lines)

    def markdown(self) -> str:
        """The table as README.md shows it."""
        lines = [f"| {self.id_header} | scenario | {self.exit_header} | what happens |", "|---|---|---|---|"]
        lines += [f"| {key} | `{name}` | {code} | {summary} |" for key, name, code, summary in self.rows]
        return "\n".join(lines)


UPDATE_TABLE = ScenarioTable(
    "update id",
    "gate exit code",
    tuple((s.update_id, s.scenario.value, s.gate_exit, s.summary) for s in SCENARIOS),
)
DEPLOY_TABLE = ScenarioTable(
    "image id",
    "`deploy` exit code",
    tuple((s.image_id, s.scenario.value, s.gate_exit, s.summary) for s in DEPLOY_SCENARIOS),
)
scenario_table_text = UPDATE_TABLE.text
scenario_table_markdown = UPDATE_TABLE.markdown
deploy_table_text = DEPLOY_TABLE.text
deploy_table_markdown = DEPLOY_TABLE.markdown
