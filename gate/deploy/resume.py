"""The command that resumes a cut-short deploy: pure, from the settings and the ids known so far."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from gate.config import URL_ENV
from gate.deploy.choices import InstallMode, OnEmptyDiff, OnLocked
from gate.deploy.settings import DeploySettings
from gate.kinds import WAITABLE, JobKind

STEPS: tuple[JobKind, ...] = (*WAITABLE, JobKind.FLEET_INSTALL)


@dataclass(frozen=True)
class ResumeSetting:
    """How one deploy setting is carried into a resume command.

    ``needed_by``: the steps that read it; it is carried only while one of them is still to
    run. ``style``: ``value`` (``--flag VALUE``), ``switch`` (``--flag`` when true), ``restart``
    (``--restart``/``--no-restart``) or ``variable`` (a secret: named by its environment
    variable, never written out).
    """

    key: str
    flag: str
    needed_by: tuple[JobKind, ...]
    style: str = "value"
    skip_value: object = None


# One row per setting: a new deploy setting is carried by adding its row.
RESUME_SETTINGS: tuple[ResumeSetting, ...] = (
    ResumeSetting("image_id", "--image-id", STEPS),
    ResumeSetting("machine_id", "--machine-id", STEPS),
    ResumeSetting("desc", "--desc", (JobKind.IMAGE_UPDATE,)),
    ResumeSetting("url", "--url", (JobKind.IMAGE_UPDATE,), "variable"),
    ResumeSetting("game_build", "--game-build", (JobKind.IMAGE_VERSION,)),
    ResumeSetting("full", "--full", (JobKind.IMAGE_VERSION,), "switch"),
    ResumeSetting("force", "--force", (JobKind.IMAGE_VERSION,), "switch"),
    # Always carried when given: the version step refuses to start without the choice.
    ResumeSetting("restart", "--restart", STEPS, "restart"),
    ResumeSetting("max_failed_machines", "--max-failed-machines", (JobKind.FLEET_INSTALL,), skip_value=0),
)


def resume_command(
    deploy: DeploySettings, created: Mapping[JobKind, int], next_kind: JobKind | None = None
) -> str:
    """The command that continues a deploy from the ids known so far, never starting a job anew.

    Pure. Each job with an id is waited on again by that id; a job without one is skipped when
    the user skipped it or when a later job is already known (or ``next_kind`` is later), and
    created otherwise. Only the settings the remaining creates and the install need are carried;
    the source URL is named by its variable, never written out.
    """
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
    # The steps still to do something: a create (no id yet) or the install.
    todo: set[JobKind] = set()
    for index, kind in enumerate(STEPS):
        if kind in WAITABLE and ids[kind]:
            parts.append(f"{kind.resume_flag} {ids[kind]}")
        elif kind != next_kind and (skipped[kind] or index < last_known):
            parts.append(f"--skip-{kind.value.removeprefix('image')}")
        else:
            todo.add(kind)
    first: list[str] = []
    rest: list[str] = []
    for setting in RESUME_SETTINGS:
        value = getattr(deploy, setting.key)
        if value is None or value == setting.skip_value:
            continue
        if setting.needed_by != STEPS and not todo & set(setting.needed_by):
            continue
        into = first if setting.key in ("image_id", "machine_id") else rest
        if setting.style == "switch":
            if value:
                into.append(setting.flag)
        elif setting.style == "restart":
            into.append("--restart" if value else "--no-restart")
        elif setting.style == "variable":
            into.append(f'{setting.flag} "${URL_ENV}"')
        else:
            into.append(f"{setting.flag} {shlex.quote(str(value))}")
    return " ".join(["clanforge-gate deploy", *first, *parts, *rest, *deploy_setting_flags(deploy)])


def deploy_setting_flags(d: DeploySettings) -> list[str]:
    """The flags of the install, empty-diff and lock settings that differ from their defaults."""
    flags: list[str] = []
    if d.install_at.mode is not InstallMode.NOW:
        flags.append(f"--install-at {d.install_at.setting}")
    if d.disable_timeout_minutes is not None:
        flags.append(f"--disable-timeout {d.disable_timeout_minutes}m")
    if d.disable_percentage is not None:
        flags.append(f"--disable-percentage {d.disable_percentage}")
    if d.game_id is not None:
        flags.append(f"--game-id {d.game_id}")
    if d.on_empty_diff is not OnEmptyDiff.REJECT:
        flags.append(f"--on-empty-diff {d.on_empty_diff.value}")
    if d.on_locked is not OnLocked.FAIL:
        flags.append(f"--on-locked {d.on_locked.value}")
    if d.reject_on_abort:
        flags.append("--reject-on-abort")
    return flags
