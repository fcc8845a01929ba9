"""Whether a fleet install is done: judged from two readings, never from silence.

Pure: the image status (``/cfp/v2/project/<asid>/image/<imageid>/status``) and the account's
unfinished install jobs (``/cfp/v1/imageinstall/status``) go in, a verdict comes out. An install
is done only on positive evidence: no install job of the version is unfinished, no machine is
pending, and the install was seen to happen (its jobs or pending machines were seen, or machines
are counted completed or failed). A fleet with nothing pending, nothing completed and no install
job is "unmarked": never taken as installed, however long it stays so.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gate.errors import MalformedResponse


@dataclass(frozen=True)
class FleetCounts:
    """The image status: machines pending, failed (disabled, unable to install) and completed."""

    pending: int
    failed: int
    completed: int

    @property
    def empty(self) -> bool:
        return self.pending == self.failed == self.completed == 0

    @property
    def text(self) -> str:
        return f"{self.completed} completed, {self.pending} pending, {self.failed} failed"


@dataclass(frozen=True)
class InstallJobs:
    """The unfinished install jobs of one version, and how many others the account has."""

    version_id: int
    mine: int
    others: int

    @property
    def text(self) -> str:
        other = f" ({self.others} of other versions ignored)" if self.others else ""
        return f"{self.mine} unfinished install jobs for version {self.version_id}{other}"


class Verdict(str, enum.Enum):
    DONE = "done"
    INSTALLING = "installing"
    UNMARKED = "unmarked"
    NOT_PROVEN = "not proven"


@dataclass(frozen=True)
class Evidence:
    """What was seen of this version's install so far (the watch keeps it between polls)."""

    started: bool = False

    def seen(self, counts: FleetCounts, jobs: InstallJobs) -> Evidence:
        return Evidence(self.started or jobs.mine > 0 or counts.pending > 0)


def parse_fleet_counts(body: Mapping[str, Any]) -> FleetCounts:
    """The three counts of an image status body; a missing ``pending_machines`` is malformed."""
    values = []
    for key in ("pending_machines", "failed_machines", "completed_machines"):
        value = body.get(key, 0 if key != "pending_machines" else None)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise MalformedResponse(f"image status field {key!r} is {value!r}, not a count")
        values.append(value)
    return FleetCounts(values[0], values[1], values[2])


def parse_install_jobs(body: Mapping[str, Any], version_id: int) -> InstallJobs:
    """Count the unfinished install jobs whose ``target_imageversionid`` is ``version_id``."""
    installs = body.get("installs")
    if installs is None:
        installs = []
    if not isinstance(installs, list):
        raise MalformedResponse(
            f"imageinstall status field 'installs' is {type(installs).__name__}, not a list"
        )
    mine = others = 0
    for item in installs:
        if not isinstance(item, Mapping):
            raise MalformedResponse("imageinstall status lists an install that is not an object")
        target = item.get("target_imageversionid")
        text = str(target).strip() if isinstance(target, (int, str)) and not isinstance(target, bool) else ""
        if text.isdigit() and int(text) == version_id:
            mine += 1
        else:
            others += 1
    return InstallJobs(version_id, mine, others)


def judge(counts: FleetCounts, jobs: InstallJobs, evidence: Evidence, *, created_here: bool) -> Verdict:
    """The verdict on one pair of readings (``evidence`` already includes them).

    A version this run created must have been seen installing (its jobs or pending machines):
    right after publishing, the image status may still show the previous install's counts. A
    version given to resume may have installed before the watch began: completed or failed
    machines with nothing pending and no job left count as evidence then.
    """
    if jobs.mine > 0 or counts.pending > 0:
        return Verdict.INSTALLING
    if counts.empty:
        return Verdict.UNMARKED
    if evidence.started or not created_here:
        return Verdict.DONE
    return Verdict.NOT_PROVEN


def readings_text(counts: FleetCounts | None, jobs: InstallJobs | None, *, named: bool = False) -> str:
    """Both readings in one phrase; ``named`` says which endpoint gave which (for final messages)."""
    fleet = counts.text if counts is not None else "not read"
    installs = jobs.text if jobs is not None else "install jobs not read"
    if named:
        return f"image status: {fleet}; imageinstall status: {installs}"
    return f"{fleet}; {installs}"
