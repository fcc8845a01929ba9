"""The command that resumes a cut-short deploy: pure, from the settings and the ids known so far."""

from __future__ import annotations

import enum
import shlex
from collections.abc import Mapping

from gate.config import DEPLOY_OPTIONS, URL_ENV, Option
from gate.deploy.choices import InstallAt
from gate.deploy.settings import DeploySettings
from gate.kinds import WAITABLE, JobKind
from gate.options import Form

STEPS: tuple[JobKind, ...] = (*WAITABLE, JobKind.FLEET_INSTALL)


# The steps that read a deploy setting: it is carried into a resume command only while one of them
# is still to run. Every other setting of the option table is carried whenever it differs from its
# default (the version step refuses to start without --restart or --no-restart, so that one too).
NEEDED_BY: Mapping[str, tuple[JobKind, ...]] = {
    "desc": (JobKind.IMAGE_UPDATE,),
    "url": (JobKind.IMAGE_UPDATE,),
    "game_build": (JobKind.IMAGE_VERSION,),
    "full": (JobKind.IMAGE_VERSION,),
    "force": (JobKind.IMAGE_VERSION,),
    "max_failed_machines": (JobKind.FLEET_INSTALL,),
}
# The settings a resume command writes as steps (an id to wait on, or a step to skip).
_STEP_KEYS = frozenset({"diff_id", "version_id", "skip_update", "skip_diff", "skip_version", "skip_install"})
# Where the table's key and the settings' field differ.
_FIELD = {"disable_timeout": "disable_timeout_minutes"}
# Where the command puts each setting: the image and machine first, then the steps, then what the
# creates still to run take, then the rest, each in the table's order.
_FIRST = ("image_id", "machine_id")


def _steps(
    deploy: DeploySettings, created: Mapping[JobKind, int], next_kind: JobKind | None
) -> tuple[list[str], set[JobKind]]:
    """The step flags (an id to wait on again, or a skip) and the steps still to do something."""
    ids: dict[JobKind, int | None] = {
        JobKind.IMAGE_UPDATE: deploy.update_id,
        JobKind.IMAGE_DIFF: deploy.diff_id,
        JobKind.IMAGE_VERSION: deploy.version_id,
    }
    ids.update({kind: job_id for kind, job_id in created.items() if kind in ids})
    skipped = {
        JobKind.IMAGE_UPDATE: deploy.skip_update,
        JobKind.IMAGE_DIFF: deploy.skip_diff,
        JobKind.IMAGE_VERSION: deploy.skip_version,
        JobKind.FLEET_INSTALL: deploy.skip_install,
    }
    known = [kind for kind in WAITABLE if ids[kind]] + ([next_kind] if next_kind else [])
    last_known = max((STEPS.index(kind) for kind in known), default=-1)
    parts: list[str] = []
    todo: set[JobKind] = set()
    for index, kind in enumerate(STEPS):
        if kind in WAITABLE and ids[kind]:
            parts.append(f"{kind.resume_flag} {ids[kind]}")
        elif kind != next_kind and (skipped[kind] or index < last_known):
            parts.append(f"--skip-{kind.value.removeprefix('image')}")
        else:
            todo.add(kind)
    return parts, todo


def _text(value: object) -> str:
    """A setting's value as its flag takes it."""
    if isinstance(value, InstallAt):
        return value.setting
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def setting_flags(option: Option, value: object) -> list[str]:
    """One setting as a resume command writes it, in the form its row of the table gives it; the
    source URL (it may hold keys) is named by its variable, never written out."""
    if option.env == URL_ENV:
        return [f'{option.flag} "${URL_ENV}"']
    if option.form is Form.SWITCH:
        return [option.flag] if value else []
    if option.form is Form.YES_NO:
        return [option.flag if value else "--no-" + option.flag.removeprefix("--")]
    if option.key == "disable_timeout":
        return [f"{option.flag} {value}m"]  # kept in minutes, the API's unit
    return [f"{option.flag} {shlex.quote(_text(value))}"]


def resume_command(
    deploy: DeploySettings, created: Mapping[JobKind, int], next_kind: JobKind | None = None
) -> str:
    """The command that continues a deploy from the ids known so far, never starting a job anew.

    Pure. Each job with an id is waited on again by that id; a job without one is skipped when
    the user skipped it or when a later job is already known (or ``next_kind`` is later), and
    created otherwise. Only the settings the remaining creates and the install need are carried,
    each written as the option table gives its flag.
    """
    parts, todo = _steps(deploy, created, next_kind)
    first: list[str] = []
    creates: list[str] = []
    rest: list[str] = []
    for option in DEPLOY_OPTIONS:
        value = getattr(deploy, _FIELD.get(option.key, option.key))
        default = None if option.default is None else option.parse(option.default)
        if option.key in _STEP_KEYS or value is None or value == default:
            continue
        if option.key in NEEDED_BY and not todo & set(NEEDED_BY[option.key]):
            continue
        if option.key in _FIRST:
            first += setting_flags(option, value)
        elif set(NEEDED_BY.get(option.key, ())) & set(WAITABLE):
            creates += setting_flags(option, value)
        else:
            rest += setting_flags(option, value)
    return " ".join(["clanforge-gate deploy", *first, *parts, *creates, *rest])
